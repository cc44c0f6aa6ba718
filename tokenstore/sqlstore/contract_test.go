package sqlstore_test

import (
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
