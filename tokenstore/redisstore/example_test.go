package redisstore_test

import (
	"context"
	"log"
	"os"

	"github.com/redis/go-redis/v9"

	wxopen "github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/tokenstore/redisstore"
)

// A platform running several instances keeps its state in Redis. The durable credentials (verify
// ticket, refresh tokens) need a Redis that never evicts and persists its data: NewCredentialStore
// warns when the eviction policy says otherwise. The expiring tokens may live in any Redis, a cache
// included; its lock lets one instance refresh a token while the others wait for it.
//
// (Compiled, not run: it needs Redis servers.)
func ExampleNewCredentialStore() {
	ctx := context.Background()

	durable := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_DURABLE_ADDR")}) // maxmemory-policy noeviction, AOF on
	creds, err := redisstore.NewCredentialStore(ctx, durable)
	if err != nil {
		log.Fatal(err)
	}

	cache := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_CACHE_ADDR")})
	tokens, err := redisstore.New(cache, redisstore.WithKeyPrefix("wxopen:tokens:"))
	if err != nil {
		log.Fatal(err)
	}

	p, err := wxopen.New(wxopen.Config{
		ComponentAppID: os.Getenv("WXOPEN_COMPONENT_APPID"),
		AppSecret:      os.Getenv("WXOPEN_COMPONENT_SECRET"),
		Token:          os.Getenv("WXOPEN_MSG_TOKEN"),
		EncodingAESKey: os.Getenv("WXOPEN_MSG_AES_KEY"),
	},
		wxopen.WithCredentialStore(creds),
		wxopen.WithTokenStore(tokens),
	)
	if err != nil {
		log.Fatal(err)
	}
	_ = p // serve p.Handler, call p.Authorizer(appID)...
}
