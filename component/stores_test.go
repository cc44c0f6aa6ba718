package component_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/redisstore"
	"github.com/wxopen-go/wxopen/tokenstore/sqlstore"
)

// forEachClaimStore runs test against the credential stores a fleet shares: the in-memory test store
// always, and Redis, MariaDB and PostgreSQL when their addresses are set (WXOPEN_REDIS_ADDR,
// WXOPEN_MYSQL_DSN, WXOPEN_POSTGRES_DSN; required in CI), each on keys or a table of its own.
func forEachClaimStore(t *testing.T, test func(t *testing.T, creds tokenstore.Store)) {
	t.Run("memory", func(t *testing.T) { test(t, newFailingStore(nil)) })
	t.Run("Redis", func(t *testing.T) { test(t, redisCreds(t)) })
	t.Run("MariaDB", func(t *testing.T) { test(t, sqlCreds(t, "mysql", "WXOPEN_MYSQL_DSN", sqlstore.MySQL)) })
	t.Run("Postgres", func(t *testing.T) { test(t, sqlCreds(t, "pgx", "WXOPEN_POSTGRES_DSN", sqlstore.Postgres)) })
}

// unavailable skips a test whose server is not configured, and fails it in CI, where .ci/run starts
// every server.
func unavailable(t *testing.T, env string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not set or does not answer; in CI the servers must run (.ci/run)", env)
	}
	t.Skipf("%s is not set; source .ci/redis.sh and .ci/sql.sh to run against real stores", env)
}

func uniqueName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func redisCreds(t *testing.T) tokenstore.Store {
	addr := os.Getenv("WXOPEN_REDIS_ADDR")
	if addr == "" {
		unavailable(t, "WXOPEN_REDIS_ADDR")
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		unavailable(t, "WXOPEN_REDIS_ADDR")
	}
	prefix := uniqueName("wxopentest:component:") + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	st, err := redisstore.New(c, redisstore.WithKeyPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func sqlCreds(t *testing.T, driver, env string, d sqlstore.Dialect) tokenstore.Store {
	dsn := os.Getenv(env)
	if dsn == "" {
		unavailable(t, env)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		unavailable(t, env)
	}
	table := uniqueName("component_test_")
	st, err := sqlstore.New(db, sqlstore.WithTable(table), sqlstore.WithDialect(d))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = db.Exec("DROP TABLE " + table) })
	return st
}
