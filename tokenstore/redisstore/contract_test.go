package redisstore_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/redisstore"
	"github.com/wxopen-go/wxopen/tokenstore/storetest"
)

// TestContract runs the Store contract that every backend passes (memory, MariaDB, PostgreSQL).
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) tokenstore.Store {
		s, _, _ := newStore(t)
		return s
	})
}

// TestContractFailure: a Redis that cannot be reached fails every call, and never as a miss.
func TestContractFailure(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	s, err := redisstore.New(c)
	if err != nil {
		t.Fatal(err)
	}
	storetest.RunFailure(t, s)
}
