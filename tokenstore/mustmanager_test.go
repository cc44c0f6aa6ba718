package tokenstore_test

import "github.com/wxopen-go/wxopen/tokenstore"

// mustManager returns the Manager NewManager built, and panics on its error (a test's options are
// valid).
func mustManager(m *tokenstore.Manager, err error) *tokenstore.Manager {
	if err != nil {
		panic(err)
	}
	return m
}
