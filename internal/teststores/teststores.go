// Package teststores gives tests the shared credential stores of a fleet on the servers .ci/run
// starts: Redis (WXOPEN_REDIS_ADDR), MariaDB (WXOPEN_MYSQL_DSN) and PostgreSQL (WXOPEN_POSTGRES_DSN),
// each on keys or a table of the test's own, removed when the test ends. A test whose server is not
// configured is skipped, except in CI (CI set), where it fails: there every server must run. Only
// tests import it.
package teststores

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // the "mysql" driver
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	"github.com/redis/go-redis/v9"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/redisstore"
	"github.com/wxopen-go/wxopen/tokenstore/sqlstore"
)

// Redis returns a redisstore.Store over WXOPEN_REDIS_ADDR whose keys start with a random prefix
// naming the test's package (name); they are deleted at the end.
func Redis(tb testing.TB, name string) tokenstore.Store {
	tb.Helper()
	addr := os.Getenv("WXOPEN_REDIS_ADDR")
	if addr == "" {
		unavailable(tb, "WXOPEN_REDIS_ADDR is not set (source .ci/redis.sh)")
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		unavailable(tb, "redis at "+addr+" (WXOPEN_REDIS_ADDR) does not answer: "+err.Error())
	}
	prefix := "wxopentest:" + name + ":" + randHex() + ":"
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		_ = c.Close()
	})
	st, err := redisstore.New(c, redisstore.WithKeyPrefix(prefix))
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// SQL returns a migrated sqlstore.Store on a new table (named after name, then random) of the
// database whose DSN is in the environment variable env, for driver "mysql" or "pgx"; the table is
// dropped at the end.
func SQL(tb testing.TB, driver, env, name string) tokenstore.Store {
	tb.Helper()
	dsn := os.Getenv(env)
	if dsn == "" {
		unavailable(tb, env+" is not set (source .ci/sql.sh)")
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		unavailable(tb, env+" does not answer: "+err.Error())
	}
	table := "wxopen_test_" + name + "_" + randHex()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = db.ExecContext(ctx, "DROP TABLE IF EXISTS "+table)
		_ = db.Close()
	})
	st, err := sqlstore.New(db, sqlstore.WithTable(table))
	if err != nil {
		tb.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return st
}

func unavailable(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatal(why + "; in CI every server must run (.ci/run starts them)")
	}
	tb.Skip(why)
}

func randHex() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
