package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/wxopen-go/wxopen/tokenstore/sqlstore"
)

// backend is one real database the tests run against.
type backend struct {
	name    string // subtest name
	env     string // variable holding the DSN
	driver  string // database/sql driver name
	dialect sqlstore.Dialect
}

var backends = []backend{
	{name: "MariaDB", env: "WXOPEN_MYSQL_DSN", driver: "mysql", dialect: sqlstore.MySQL},
	{name: "Postgres", env: "WXOPEN_POSTGRES_DSN", driver: "pgx", dialect: sqlstore.Postgres},
}

// forEach runs f once per backend, as subtests.
func forEach(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

// open returns a *sql.DB on b's test server. Without a reachable server it skips the test, or fails
// it when CI is set: in CI the databases must be there.
func (b backend) open(t testing.TB) *sql.DB {
	t.Helper()
	dsn := os.Getenv(b.env)
	if dsn == "" {
		unavailable(t, b.env+" is not set")
	}
	db, err := sql.Open(b.driver, dsn)
	if err != nil {
		t.Fatalf("sql.Open(%s): %v", b.driver, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		unavailable(t, b.env+" does not answer: "+err.Error())
	}
	db.SetMaxOpenConns(25)
	return db
}

func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s; in CI the SQL servers must run (.ci/run sources .ci/sql.sh)", why)
	}
	t.Skipf("%s; to run the SQL tests: source .ci/sql.sh (installs and starts MariaDB and PostgreSQL on loopback, exports the DSNs), then go test ./tokenstore/sqlstore", why)
}

// table returns a table name unique to this test run; the table is dropped when the test ends.
func table(t testing.TB, db *sql.DB) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := "wxopen_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+name); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	return name
}

// newStore returns a migrated Store on a fresh table of db.
func newStore(t testing.TB, db *sql.DB, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.New(db, append([]sqlstore.Option{sqlstore.WithTable(table(t, db))}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Migrate(ctx(t)); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func lookupEnv(name string) string { return os.Getenv(name) }

// documentedDDL extracts the statements for d (CREATE TABLE, CREATE INDEX) from the package
// documentation in sqlstore.go, so that the documented schema is tested, not just read.
func documentedDDL(t *testing.T, d sqlstore.Dialect) []string {
	t.Helper()
	src, err := os.ReadFile("sqlstore.go")
	if err != nil {
		t.Fatal(err)
	}
	marker := "//\t-- MySQL / MariaDB\n"
	if d == sqlstore.Postgres {
		marker = "//\t-- PostgreSQL\n"
	}
	_, rest, ok := strings.Cut(string(src), marker)
	if !ok {
		t.Fatalf("no %q in the package documentation", marker)
	}
	var (
		stmts []string
		b     strings.Builder
	)
	for _, line := range strings.Split(rest, "\n") {
		line, ok := strings.CutPrefix(line, "//\t")
		if !ok { // the end of the indented block
			if b.Len() > 0 || len(stmts) == 0 {
				t.Fatal("documented statement does not end with ';'")
			}
			return stmts
		}
		b.WriteString(line + "\n")
		if strings.HasSuffix(line, ";") {
			stmts = append(stmts, strings.TrimSuffix(strings.TrimSpace(b.String()), ";"))
			b.Reset()
		}
	}
	t.Fatal("unreachable")
	return nil
}
