package sqlstore_test

import (
	"strings"
	"testing"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/storetest"
)

func TestContract(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := b.open(t)
		storetest.Run(t, func(t *testing.T) tokenstore.Store { return newStore(t, db) })
	})
}

// TestContractClientFoundRows: with go-sql-driver's clientFoundRows=true, MySQL counts the rows an
// UPDATE matched rather than changed; CompareAndSwap must report the same outcomes.
func TestContractClientFoundRows(t *testing.T) {
	b := backends[0]
	if dsn := lookupEnv(b.env); dsn != "" {
		t.Setenv(b.env, withParam(dsn, "clientFoundRows=true"))
	}
	db := b.open(t)
	storetest.Run(t, func(t *testing.T) tokenstore.Store { return newStore(t, db) })
}

func withParam(dsn, param string) string {
	if strings.Contains(dsn, "?") {
		return dsn + "&" + param
	}
	return dsn + "?" + param
}
