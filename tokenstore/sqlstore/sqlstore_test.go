package sqlstore_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/sqlstore"
	"github.com/wxopen-go/wxopen/tokenstore/storetest"
	"github.com/wxopen-go/wxopen/wxerr"
)

func TestNewValidation(t *testing.T) {
	db, err := sql.Open("mysql", "u:p@tcp(127.0.0.1:1)/x")
	require.NoError(t, err)
	defer db.Close()

	_, err = sqlstore.New(nil)
	assert.True(t, wxerr.IsValidation(err), "nil db: %v", err)

	bad := []string{
		"", "creds; DROP TABLE users", "creds--", "a b", "1creds", "Creds", `cr"eds`, "cr`eds", "cr'eds",
		"a.b.c", ".creds", "creds.", "cr-eds", "crédits", strings.Repeat("a", 64), "public." + strings.Repeat("a", 64),
		"creds\x00", "creds\n",
	}
	for _, name := range bad {
		s, err := sqlstore.New(db, sqlstore.WithTable(name))
		assert.Nil(t, s, "table %q", name)
		var v *wxerr.ValidationError
		if assert.ErrorAs(t, err, &v, "table %q", name) {
			assert.Equal(t, "table", v.Field)
		}
	}
	for _, name := range []string{"wxopen_credentials", "_creds", "creds2", "ops.wxopen_credentials", strings.Repeat("a", 63)} {
		s, err := sqlstore.New(db, sqlstore.WithTable(name))
		if assert.NoError(t, err, "table %q", name) {
			assert.Equal(t, name, s.Table())
		}
	}
	s, err := sqlstore.New(db)
	require.NoError(t, err)
	assert.Equal(t, sqlstore.DefaultTable, s.Table())

	_, err = sqlstore.New(db, sqlstore.WithDialect(sqlstore.Dialect(7)))
	assert.True(t, wxerr.IsValidation(err), "unknown dialect: %v", err)
}

func TestDialectDetection(t *testing.T) {
	mysqlOpen, err := sql.Open("mysql", "u:p@tcp(127.0.0.1:1)/x")
	require.NoError(t, err)
	defer mysqlOpen.Close()
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr = "tcp", "127.0.0.1:1"
	conn, err := mysql.NewConnector(cfg)
	require.NoError(t, err)
	mysqlConnector := sql.OpenDB(conn)
	defer mysqlConnector.Close()
	pgOpen, err := sql.Open("pgx", "postgres://u:p@127.0.0.1:1/x")
	require.NoError(t, err)
	defer pgOpen.Close()
	pcfg, err := pgx.ParseConfig("postgres://u:p@127.0.0.1:1/x")
	require.NoError(t, err)
	pgConnector := stdlib.OpenDB(*pcfg)
	defer pgConnector.Close()

	for name, c := range map[string]struct {
		db   *sql.DB
		want sqlstore.Dialect
	}{
		"sql.Open mysql":     {mysqlOpen, sqlstore.MySQL},
		"mysql.NewConnector": {mysqlConnector, sqlstore.MySQL},
		"sql.Open pgx":       {pgOpen, sqlstore.Postgres},
		"stdlib.OpenDB":      {pgConnector, sqlstore.Postgres},
	} {
		s, err := sqlstore.New(c.db)
		if assert.NoError(t, err, name) {
			assert.Equal(t, c.want, s.Dialect(), name)
		}
	}

	// An explicit dialect wins over detection.
	s, err := sqlstore.New(pgOpen, sqlstore.WithDialect(sqlstore.MySQL))
	require.NoError(t, err)
	assert.Equal(t, sqlstore.MySQL, s.Dialect())

	// An unknown driver needs WithDialect.
	other := sql.OpenDB(fakeConnector{})
	defer other.Close()
	_, err = sqlstore.New(other)
	var v *wxerr.ValidationError
	if assert.ErrorAs(t, err, &v) {
		assert.Equal(t, "dialect", v.Field)
		assert.Contains(t, v.Rule, "WithDialect")
	}
	s, err = sqlstore.New(other, sqlstore.WithDialect(sqlstore.Postgres))
	require.NoError(t, err)
	assert.Equal(t, sqlstore.Postgres, s.Dialect())

	assert.Equal(t, "mysql", sqlstore.MySQL.String())
	assert.Equal(t, "postgres", sqlstore.Postgres.String())
	assert.Equal(t, "detect", sqlstore.DetectDialect.String())
	assert.Equal(t, "Dialect(9)", sqlstore.Dialect(9).String())
}

type fakeConnector struct{}

func (fakeConnector) Connect(context.Context) (driver.Conn, error) {
	return nil, errors.New("fake driver: no connections")
}
func (fakeConnector) Driver() driver.Driver { return fakeDriver{} }

type fakeDriver struct{}

func (fakeDriver) Open(string) (driver.Conn, error) {
	return nil, errors.New("fake driver: no connections")
}

// Bad keys and values are rejected before any query: the store's database is closed, so a query
// would fail with a different error.
func TestInputValidation(t *testing.T) {
	for _, d := range []sqlstore.Dialect{sqlstore.MySQL, sqlstore.Postgres} {
		db := sql.OpenDB(fakeConnector{})
		s, err := sqlstore.New(db, sqlstore.WithDialect(d))
		require.NoError(t, err)
		c := context.Background()
		for _, key := range []string{"", strings.Repeat("k", sqlstore.MaxKeyLen+1), "bad\xffutf8", "nul\x00"} {
			_, err := s.Get(c, key)
			assert.True(t, wxerr.IsValidation(err), "Get(%q): %v", key, err)
			assert.False(t, errors.Is(err, tokenstore.ErrNotFound), "Get(%q): a bad key is not a miss", key)
			assert.True(t, wxerr.IsValidation(s.Set(c, key, tokenstore.Token{Value: "v"})), "Set(%q)", key)
			assert.True(t, wxerr.IsValidation(s.Delete(c, key)), "Delete(%q)", key)
			_, err = s.CompareAndDelete(c, key, "v")
			assert.True(t, wxerr.IsValidation(err), "CompareAndDelete(%q): %v", key, err)
			_, err = s.Audit(c, key)
			assert.True(t, wxerr.IsValidation(err), "Audit(%q): %v", key, err)
		}
		for _, v := range []string{"bad\xffutf8", "nul\x00"} {
			err := s.Set(c, "k", tokenstore.Token{Value: v})
			var ve *wxerr.ValidationError
			if assert.ErrorAs(t, err, &ve) {
				assert.Equal(t, "value", ve.Field)
				assert.NotContains(t, err.Error(), v, "the value is a secret")
			}
		}
		// A valid key does reach the (failing) database: the error is a failure, not a miss.
		_, err = s.Get(c, strings.Repeat("k", sqlstore.MaxKeyLen))
		assert.Error(t, err)
		assert.False(t, wxerr.IsValidation(err))
		assert.False(t, errors.Is(err, tokenstore.ErrNotFound))
		require.NoError(t, db.Close())
	}
}

// A store whose server cannot be reached, or whose pool is closed, fails loudly. These run without the
// test servers.
func TestFailureUnreachable(t *testing.T) {
	for name, c := range map[string]struct{ driver, dsn string }{
		"mysql":    {"mysql", "u:p@tcp(127.0.0.1:1)/x?timeout=2s"},
		"postgres": {"pgx", "postgres://u:p@127.0.0.1:1/x?connect_timeout=2"},
	} {
		t.Run(name, func(t *testing.T) {
			db, err := sql.Open(c.driver, c.dsn)
			require.NoError(t, err)
			defer db.Close()
			s, err := sqlstore.New(db)
			require.NoError(t, err)
			storetest.RunFailure(t, s)
			_, err = s.Audit(context.Background(), "k")
			assert.Error(t, err)
			assert.False(t, errors.Is(err, tokenstore.ErrNotFound))
			assert.Error(t, s.Migrate(context.Background()))
			_, err = s.AuditPrefix(context.Background(), "")
			assert.Error(t, err)
			_, err = s.PurgeExpired(context.Background())
			assert.Error(t, err)
		})
	}
}

func TestFailureClosedDB(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := b.open(t)
		s := newStore(t, db)
		require.NoError(t, s.Set(ctx(t), "k", tokenstore.Token{Value: "v"}))
		// A second pool keeps the table for the cleanup; this one goes away.
		gone, err := sql.Open(b.driver, mustEnv(t, b.env))
		require.NoError(t, err)
		s2, err := sqlstore.New(gone, sqlstore.WithTable(s.Table()))
		require.NoError(t, err)
		got, err := s2.Get(ctx(t), "k")
		require.NoError(t, err)
		require.Equal(t, "v", got.Value)
		require.NoError(t, gone.Close())
		storetest.RunFailure(t, s2)
	})
}

func mustEnv(t *testing.T, name string) string {
	t.Helper()
	v := lookupEnv(name)
	if v == "" {
		t.Fatalf("%s not set", name)
	}
	return v
}

func TestMigrate(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := b.open(t)
		name := table(t, db)
		s, err := sqlstore.New(db, sqlstore.WithTable(name))
		require.NoError(t, err)

		// Before Migrate the table does not exist: that is a failure, not a miss.
		_, err = s.Get(ctx(t), "k")
		require.Error(t, err)
		assert.False(t, errors.Is(err, tokenstore.ErrNotFound), "missing table reported as a miss: %v", err)

		// Several processes starting at once.
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.Migrate(ctx(t))
			}()
		}
		wg.Wait()
		for i, err := range errs {
			assert.NoError(t, err, "concurrent Migrate %d", i)
		}
		require.NoError(t, s.Set(ctx(t), "k", tokenstore.Token{Value: "kept"}))
		// Again, later: idempotent, and it keeps the data.
		require.NoError(t, s.Migrate(ctx(t)))
		got, err := s.Get(ctx(t), "k")
		require.NoError(t, err)
		assert.Equal(t, "kept", got.Value)

		// A table of the same name with other columns is reported, not silently used.
		other := table(t, db)
		_, err = db.ExecContext(ctx(t), "CREATE TABLE "+other+" (id INT PRIMARY KEY)")
		require.NoError(t, err)
		s2, err := sqlstore.New(db, sqlstore.WithTable(other))
		require.NoError(t, err)
		err = s2.Migrate(ctx(t))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "expected columns")
	})
}

// The schema in the package documentation is the one Migrate creates: a table made from the
// documented SQL works with the Store.
func TestDocumentedSchema(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := b.open(t)
		name := table(t, db)
		stmts := documentedDDL(t, b.dialect)
		require.Len(t, stmts, 2, "CREATE TABLE and CREATE INDEX")
		for _, stmt := range stmts {
			_, err := db.ExecContext(ctx(t), strings.ReplaceAll(stmt, sqlstore.DefaultTable, name))
			require.NoError(t, err, stmt)
		}
		s, err := sqlstore.New(db, sqlstore.WithTable(name))
		require.NoError(t, err)
		require.NoError(t, s.Migrate(ctx(t)))
		require.NoError(t, s.Set(ctx(t), "k", tokenstore.Token{Value: "v"}))
		ok, err := s.CompareAndDelete(ctx(t), "k", "v")
		require.NoError(t, err)
		assert.True(t, ok)
	})
}

func TestAudit(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := b.open(t)
		s := newStore(t, db)
		key := "wxopen:component:wxc0:authorizer_refresh_token:wxa1"

		_, err := s.Audit(ctx(t), key)
		assert.ErrorIs(t, err, tokenstore.ErrNotFound)

		before := time.Now().Truncate(time.Millisecond)
		require.NoError(t, s.Set(tokenstore.WithReason(ctx(t), "push:authorized"), key, tokenstore.Token{Value: "refresh-1"}))
		after := time.Now()
		rec, err := s.Audit(ctx(t), key)
		require.NoError(t, err)
		assert.Equal(t, key, rec.Key)
		assert.Equal(t, "push:authorized", rec.UpdatedBy)
		assert.False(t, rec.HasExpiry())
		assert.True(t, !rec.UpdatedAt.Before(before) && !rec.UpdatedAt.After(after),
			"UpdatedAt %s not within [%s, %s]", rec.UpdatedAt, before, after)

		time.Sleep(5 * time.Millisecond)
		require.NoError(t, s.Set(tokenstore.WithReason(ctx(t), "api_authorizer_token"), key, tokenstore.Token{Value: "refresh-2"}))
		rec2, err := s.Audit(ctx(t), key)
		require.NoError(t, err)
		assert.Equal(t, "api_authorizer_token", rec2.UpdatedBy)
		assert.True(t, rec2.UpdatedAt.After(rec.UpdatedAt), "UpdatedAt did not advance: %s then %s", rec.UpdatedAt, rec2.UpdatedAt)

		// No reason: empty, not the previous one.
		require.NoError(t, s.Set(ctx(t), key, tokenstore.Token{Value: "refresh-3"}))
		rec3, err := s.Audit(ctx(t), key)
		require.NoError(t, err)
		assert.Equal(t, "", rec3.UpdatedBy)

		// An expiring token: the record shows when; an expired one is still audited.
		exp := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
		require.NoError(t, s.Set(tokenstore.WithReason(ctx(t), "api_component_token"), "expired", tokenstore.Token{Value: "x", ExpiresAt: exp}))
		rec4, err := s.Audit(ctx(t), "expired")
		require.NoError(t, err)
		assert.True(t, rec4.HasExpiry())
		assert.True(t, rec4.ExpiresAt.Equal(exp), "ExpiresAt %s, want %s", rec4.ExpiresAt, exp)
		_, err = s.Get(ctx(t), "expired")
		assert.ErrorIs(t, err, tokenstore.ErrNotFound)

		// A long or malformed reason is fitted to the column instead of failing the write.
		long := strings.Repeat("原因", 200) + "\xff\x00"
		require.NoError(t, s.Set(tokenstore.WithReason(ctx(t), long), key, tokenstore.Token{Value: "refresh-4"}))
		rec5, err := s.Audit(ctx(t), key)
		require.NoError(t, err)
		assert.Equal(t, 255, utf8.RuneCountInString(rec5.UpdatedBy))
		assert.True(t, strings.HasPrefix(long, rec5.UpdatedBy))
		got, err := s.Get(ctx(t), key)
		require.NoError(t, err)
		assert.Equal(t, "refresh-4", got.Value)
	})
}

func TestAuditPrefix(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := b.open(t)
		s := newStore(t, db)
		keys := []string{"app:b", "app:a", "app_x", "appzz", "ap!p:c", "app%:d", "other"}
		for _, k := range keys {
			require.NoError(t, s.Set(tokenstore.WithReason(ctx(t), "r-"+k), k, tokenstore.Token{Value: "secret-" + k}))
		}
		list := func(prefix string) []string {
			recs, err := s.AuditPrefix(ctx(t), prefix)
			require.NoError(t, err)
			var out []string
			for _, r := range recs {
				assert.Equal(t, "r-"+r.Key, r.UpdatedBy)
				out = append(out, r.Key)
			}
			return out
		}
		assert.Equal(t, []string{"app:a", "app:b"}, list("app:"))
		assert.Equal(t, []string{"app_x"}, list("app_"), "_ must not be a wildcard")
		assert.Equal(t, []string{"app%:d"}, list("app%"), "%% must not be a wildcard")
		assert.Equal(t, []string{"ap!p:c"}, list("ap!"), "the escape character itself")
		assert.Len(t, list(""), len(keys))
		assert.Empty(t, list("nothing"))
	})
}

func TestPurgeExpired(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := b.open(t)
		s := newStore(t, db)
		past := time.Now().Add(-time.Second)
		require.NoError(t, s.Set(ctx(t), "old1", tokenstore.Token{Value: "a", ExpiresAt: past}))
		require.NoError(t, s.Set(ctx(t), "old2", tokenstore.Token{Value: "b", ExpiresAt: past}))
		require.NoError(t, s.Set(ctx(t), "live", tokenstore.Token{Value: "c", ExpiresAt: time.Now().Add(time.Hour)}))
		require.NoError(t, s.Set(ctx(t), "durable", tokenstore.Token{Value: "d"}))
		n, err := s.PurgeExpired(ctx(t))
		require.NoError(t, err)
		assert.Equal(t, int64(2), n)
		_, err = s.Audit(ctx(t), "old1")
		assert.ErrorIs(t, err, tokenstore.ErrNotFound)
		for _, k := range []string{"live", "durable"} {
			_, err := s.Get(ctx(t), k)
			assert.NoError(t, err, k)
		}
	})
}

// A new process (a new pool and Store on the same table) finds every durable credential.
func TestSurvivesNewStore(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := b.open(t)
		s := newStore(t, db)
		exp := time.Now().Add(2 * time.Hour).Truncate(time.Millisecond)
		require.NoError(t, s.Set(ctx(t), "ticket", tokenstore.Token{Value: "ticket@@@1"}))
		require.NoError(t, s.Set(ctx(t), "refresh:wxa1", tokenstore.Token{Value: "refreshtoken@@@1"}))
		require.NoError(t, s.Set(ctx(t), "access:wxa1", tokenstore.Token{Value: "at1", ExpiresAt: exp}))

		db2, err := sql.Open(b.driver, mustEnv(t, b.env))
		require.NoError(t, err)
		defer db2.Close()
		s2, err := sqlstore.New(db2, sqlstore.WithTable(s.Table()))
		require.NoError(t, err)
		require.NoError(t, s2.Migrate(ctx(t)))
		for k, want := range map[string]tokenstore.Token{
			"ticket":       {Value: "ticket@@@1"},
			"refresh:wxa1": {Value: "refreshtoken@@@1"},
			"access:wxa1":  {Value: "at1", ExpiresAt: exp},
		} {
			got, err := s2.Get(ctx(t), k)
			require.NoError(t, err, k)
			assert.Equal(t, want.Value, got.Value, k)
			assert.True(t, want.ExpiresAt.Equal(got.ExpiresAt), "%s: ExpiresAt %s, want %s", k, got.ExpiresAt, want.ExpiresAt)
		}
	})
}

// The database connection dies while a refresh-token rotation is being written: the caller gets the
// error (not a miss), and once the database is reachable again the previous refresh token is there.
func TestFaultDuringWrite(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := b.open(t)
		db.SetMaxOpenConns(1) // the store's one connection is the one to kill
		s := newStore(t, db)
		const key = "wxopen:component:wxc0:authorizer_refresh_token:wxa1"
		require.NoError(t, s.Set(tokenstore.WithReason(ctx(t), "push:authorized"), key, tokenstore.Token{Value: "refresh-old"}))

		var pid int64
		require.NoError(t, db.QueryRowContext(ctx(t), map[sqlstore.Dialect]string{
			sqlstore.MySQL:    "SELECT CONNECTION_ID()",
			sqlstore.Postgres: "SELECT pg_backend_pid()",
		}[b.dialect]).Scan(&pid))

		// A second client locks the row, so the rotation blocks in the middle of its upsert.
		admin, err := sql.Open(b.driver, mustEnv(t, b.env))
		require.NoError(t, err)
		defer admin.Close()
		lock, err := admin.BeginTx(ctx(t), nil)
		require.NoError(t, err)
		defer lock.Rollback() //nolint:errcheck // rolled back below; a second rollback is harmless
		ph := "?"
		if b.dialect == sqlstore.Postgres {
			ph = "$1"
		}
		var locked string
		require.NoError(t, lock.QueryRowContext(ctx(t), "SELECT cred_value FROM "+s.Table()+" WHERE cred_key = "+ph+" FOR UPDATE", key).Scan(&locked))
		require.Equal(t, "refresh-old", locked)

		done := make(chan error, 1)
		go func() {
			done <- s.Set(tokenstore.WithReason(context.Background(), "api_authorizer_token"), key, tokenstore.Token{Value: "refresh-new"})
		}()
		waitBlocked(t, admin, b.dialect, pid)

		// The database goes away for that connection.
		if b.dialect == sqlstore.MySQL {
			_, err = admin.ExecContext(ctx(t), fmt.Sprintf("KILL %d", pid))
		} else {
			_, err = admin.ExecContext(ctx(t), "SELECT pg_terminate_backend($1)", pid)
		}
		require.NoError(t, err)

		select {
		case err := <-done:
			require.Error(t, err, "a write on a killed connection reported success")
			assert.False(t, errors.Is(err, tokenstore.ErrNotFound))
			assert.Contains(t, err.Error(), "sqlstore: set")
			assert.NotContains(t, err.Error(), "refresh-new", "the value is a secret")
			t.Logf("surfaced: %v", err)
		case <-time.After(20 * time.Second):
			t.Fatal("the write did not return after its connection was killed")
		}
		require.NoError(t, lock.Rollback())

		// Back: the previous refresh token and its audit record are intact.
		got, err := s.Get(ctx(t), key)
		require.NoError(t, err)
		assert.Equal(t, "refresh-old", got.Value)
		rec, err := s.Audit(ctx(t), key)
		require.NoError(t, err)
		assert.Equal(t, "push:authorized", rec.UpdatedBy)

		// And the retried rotation goes through.
		require.NoError(t, s.Set(tokenstore.WithReason(ctx(t), "api_authorizer_token"), key, tokenstore.Token{Value: "refresh-new"}))
		got, err = s.Get(ctx(t), key)
		require.NoError(t, err)
		assert.Equal(t, "refresh-new", got.Value)
	})
}

// waitBlocked waits until connection pid waits on a lock.
func waitBlocked(t *testing.T, admin *sql.DB, d sqlstore.Dialect, pid int64) {
	t.Helper()
	q := "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO LIKE 'INSERT%'"
	if d == sqlstore.Postgres {
		q = "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'"
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		require.NoError(t, admin.QueryRowContext(ctx(t), q, pid).Scan(&n))
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the write never blocked on the locked row")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
