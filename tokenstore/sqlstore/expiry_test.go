package sqlstore_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/sqlstore"
)

func countRows(t *testing.T, db *sql.DB, table, where string) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRowContext(ctx(t), "SELECT COUNT(*) FROM "+table+" WHERE "+where).Scan(&n))
	return n
}

// Rows written with a TTL and never read again (the push memory) go by age: writes purge expired
// rows as they go, and never a live or durable one.
func TestWritesPurgeExpiredRows(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := b.open(t)
		s := newStore(t, db)
		c := ctx(t)
		// 1000 rows that expired long ago, as a busy push URL leaves them.
		var vals []string
		for i := 0; i < 1000; i++ {
			vals = append(vals, fmt.Sprintf("('old:%d', '1', 1, 1, '')", i))
		}
		_, err := db.ExecContext(c, "INSERT INTO "+s.Table()+" (cred_key, cred_value, expires_at, updated_at, updated_by) VALUES "+strings.Join(vals, ", "))
		require.NoError(t, err)
		require.NoError(t, s.Set(c, "refresh", tokenstore.Token{Value: "rt"}))
		require.NoError(t, s.Set(c, "ticket", tokenstore.Token{Value: "t", ExpiresAt: time.Now().Add(time.Hour)}))

		// The push memory goes on: 256 new keys purge up to 4 × 256 expired rows.
		for i := 0; i < 256; i++ {
			ok, err := s.CompareAndSwap(c, fmt.Sprintf("push:%d", i), "", tokenstore.Token{Value: "1", ExpiresAt: time.Now().Add(time.Hour)})
			require.NoError(t, err)
			require.True(t, ok)
		}
		assert.Equal(t, 0, countRows(t, db, s.Table(), "expires_at IS NOT NULL AND expires_at <= "+fmt.Sprint(time.Now().UnixMilli())),
			"expired rows are left")
		assert.Equal(t, 256+2, countRows(t, db, s.Table(), "1 = 1"), "live rows were purged")
		for _, k := range []string{"refresh", "ticket", "push:0", "push:255"} {
			_, err := s.Get(c, k)
			assert.NoError(t, err, k)
		}
	})
}

// Migrate gives a table created before the index existed its index on expires_at; it is idempotent,
// also with a schema-qualified table name.
func TestMigrateAddsExpiryIndex(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := b.open(t)
		name := table(t, db)
		// The schema as it was documented before: no index.
		ddl := map[sqlstore.Dialect]string{
			sqlstore.MySQL: "CREATE TABLE " + name + ` (cred_key VARBINARY(255) NOT NULL, cred_value MEDIUMBLOB NOT NULL,
	expires_at BIGINT NULL, updated_at BIGINT NOT NULL, updated_by VARCHAR(255) CHARACTER SET utf8mb4 NOT NULL DEFAULT '',
	PRIMARY KEY (cred_key)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
			sqlstore.Postgres: "CREATE TABLE " + name + ` (cred_key VARCHAR(255) NOT NULL PRIMARY KEY, cred_value TEXT NOT NULL,
	expires_at BIGINT NULL, updated_at BIGINT NOT NULL, updated_by VARCHAR(255) NOT NULL DEFAULT '')`,
		}[b.dialect]
		_, err := db.ExecContext(ctx(t), ddl)
		require.NoError(t, err)
		indexed := func() bool {
			q := "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'expires_at'"
			if b.dialect == sqlstore.Postgres {
				q = "SELECT COUNT(*) FROM pg_indexes WHERE tablename = $1 AND indexdef LIKE '%(expires_at)%'"
			}
			var n int
			require.NoError(t, db.QueryRowContext(ctx(t), q, name).Scan(&n))
			return n > 0
		}
		require.False(t, indexed())

		var schema string
		q := map[sqlstore.Dialect]string{sqlstore.MySQL: "SELECT DATABASE()", sqlstore.Postgres: "SELECT current_schema()"}[b.dialect]
		require.NoError(t, db.QueryRowContext(ctx(t), q).Scan(&schema))
		for _, tbl := range []string{name, schema + "." + name} {
			s, err := sqlstore.New(db, sqlstore.WithTable(tbl))
			require.NoError(t, err)
			require.NoError(t, s.Migrate(ctx(t)), tbl)
			assert.True(t, indexed(), tbl)
			require.NoError(t, s.Migrate(ctx(t)), "a second Migrate (%s)", tbl)
		}
	})
}

// A purge that meets a row while a write is taking it over (an empty old over an expired key) leaves
// it alone once the write commits: the purge picked the row as expired, waited on the writer's row
// lock, and must check the expiry again on the row it is about to delete.
func TestPurgeSparesTakenOverRows(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := b.open(t)
		s := newStore(t, db)
		c := ctx(t)
		_, err := db.ExecContext(c, "INSERT INTO "+s.Table()+" (cred_key, cred_value, expires_at, updated_at, updated_by) VALUES ('k', 'old', 1, 1, '')")
		require.NoError(t, err)

		// The take-over, held open: the row is locked and live in the writer's transaction.
		writer := b.open(t)
		tx, err := writer.BeginTx(c, nil)
		require.NoError(t, err)
		defer tx.Rollback() //nolint:errcheck // committed below
		upd := "UPDATE " + s.Table() + " SET cred_value = 'new', expires_at = ? WHERE cred_key = 'k'"
		if b.dialect == sqlstore.Postgres {
			upd = strings.Replace(upd, "?", "$1", 1)
		}
		_, err = tx.ExecContext(c, upd, time.Now().Add(time.Hour).UnixMilli())
		require.NoError(t, err)

		purged := make(chan int64, 1)
		go func() {
			n, err := s.PurgeSome(c)
			if err != nil {
				t.Errorf("purge: %v", err)
			}
			purged <- n
		}()
		waitStatementBlocked(t, b, "DELETE FROM "+s.Table()+" %")
		require.NoError(t, tx.Commit())
		assert.Equal(t, int64(0), <-purged, "the purge deleted the row taken over")
		got, err := s.Get(c, "k")
		require.NoError(t, err, "the row taken over was purged")
		assert.Equal(t, "new", got.Value)
	})
}

// waitStatementBlocked waits until a statement that matches the LIKE pattern waits on a lock.
func waitStatementBlocked(t *testing.T, b backend, pattern string) {
	t.Helper()
	q := "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE ?"
	if b.dialect == sqlstore.Postgres {
		q = "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1"
	}
	admin := b.open(t)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		var n int
		require.NoError(t, admin.QueryRowContext(ctx(t), q, pattern).Scan(&n))
		if n > 0 {
			return
		}
	}
	t.Fatalf("no statement like %q ever waited on a lock", pattern)
}
