package sqlstore

import "context"

// PurgeSome exposes one purge batch (expiry.go) to the tests.
func (s *Store) PurgeSome(ctx context.Context) (int64, error) { return s.purgeSome(ctx) }
