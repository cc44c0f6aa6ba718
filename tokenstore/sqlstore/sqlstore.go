// Package sqlstore is a tokenstore.Store on database/sql, for durable credentials (the verify ticket,
// each authorizer's refresh token) that must survive restarts of every process and cache. It supports
// MySQL/MariaDB (github.com/go-sql-driver/mysql) and PostgreSQL (github.com/jackc/pgx/v5/stdlib).
//
// The caller opens the *sql.DB (and so chooses the driver, pool size and timeouts) and passes it to New.
// The dialect is taken from WithDialect or, without it, detected from db.Driver(): a
// *mysql.MySQLDriver (sql.Open("mysql", ...) or mysql.NewConnector) is MySQL, a *stdlib.Driver
// (sql.Open("pgx", ...) or stdlib.OpenDB) is Postgres. Detection looks at the driver's type name, so
// this package links neither driver: a program using one database does not carry the other's driver.
// Other drivers for the same databases work with WithDialect.
//
//	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL")) // import _ "github.com/jackc/pgx/v5/stdlib"
//	...
//	creds, err := sqlstore.New(db)
//	...
//	if err := creds.Migrate(ctx); err != nil { ... }
//	// creds is the credential store: wxopen.WithCredentialStore(creds)
//
// # Schema
//
// One table holds every credential. (*Store).Migrate creates it; teams that manage schemas themselves
// create it with the statement for their database (wxopen_credentials is the default name, see
// WithTable):
//
//	-- MySQL / MariaDB
//	CREATE TABLE IF NOT EXISTS wxopen_credentials (
//		cred_key   VARBINARY(255) NOT NULL,
//		cred_value MEDIUMBLOB NOT NULL,
//		expires_at BIGINT NULL,
//		updated_at BIGINT NOT NULL,
//		updated_by VARCHAR(255) CHARACTER SET utf8mb4 NOT NULL DEFAULT '',
//		PRIMARY KEY (cred_key)
//	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
//	CREATE INDEX wxopen_credentials_exp ON wxopen_credentials (expires_at);
//
//	-- PostgreSQL
//	CREATE TABLE IF NOT EXISTS wxopen_credentials (
//		cred_key   VARCHAR(255) NOT NULL PRIMARY KEY,
//		cred_value TEXT NOT NULL,
//		expires_at BIGINT NULL,
//		updated_at BIGINT NOT NULL,
//		updated_by VARCHAR(255) NOT NULL DEFAULT ''
//	);
//	CREATE INDEX IF NOT EXISTS wxopen_credentials_exp ON wxopen_credentials (expires_at);
//
// The index on expires_at serves the purge of expired rows (see Behaviour); Migrate adds it to a table
// created before it existed. Its name is the table's, cut to 59 characters, and "_exp".
//
// expires_at (NULL: never expires) and updated_at are Unix times in milliseconds, written from the
// application's clock. An integer, rather than DATETIME/TIMESTAMP, is the same in both databases,
// round-trips a time.Time to the millisecond exactly, and depends neither on the session time zone nor on the
// DSN (go-sql-driver needs parseTime=true to scan DATETIME, and the *sql.DB is the caller's). To read
// them in SQL: FROM_UNIXTIME(updated_at/1000) in MySQL, to_timestamp(updated_at/1000.0) in PostgreSQL.
//
// On MySQL the key and value are binary strings, so that they compare byte for byte: with a text
// collation "K" would match "k" and "k " would match "k" (PAD SPACE), and one merchant's credential
// could overwrite another's or a compare-and-delete could match a different value.
//
// updated_by is the audit trail: the reason given with tokenstore.WithReason by whatever wrote the row
// (for example "api_authorizer_token" for a refresh, "push:authorized" for an authorisation event), or
// empty. Audit and AuditPrefix read it without the secret value.
//
// # Behaviour
//
// Set is an upsert (INSERT ... ON DUPLICATE KEY UPDATE on MySQL, INSERT ... ON CONFLICT DO UPDATE on
// PostgreSQL) in a transaction: when it fails, for instance because the connection drops, the caller
// gets the error and the row keeps its previous value. CompareAndDelete is a single conditional DELETE
// that reports whether it removed a row. CompareAndSwap is a single conditional statement (an UPDATE
// over the old value, or an insert that takes over only an expired row), never resent by database/sql;
// when its answer is lost the caller gets the error and reads the row to learn the outcome. Get returns tokenstore.ErrNotFound when there is no row or the
// row has expired; any other failure is returned wrapped, never as a miss.
//
// Expired rows go by age: every 64th write of an expiring token also deletes up to 256 expired rows
// (a short READ COMMITTED transaction through the index on expires_at), so that keys written with a
// TTL and never read again — the push handlers' memory of handled pushes, one row per push — do not
// fill the table. A live or durable row is never deleted. PurgeExpired deletes them all at once.
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

// DefaultTable is the table name used without WithTable.
const DefaultTable = "wxopen_credentials"

// MaxKeyLen is the longest key, in bytes, that the table holds.
const MaxKeyLen = 255

// maxReasonLen is the length of the updated_by column, in characters.
const maxReasonLen = 255

// Dialect is the SQL dialect of the database behind the *sql.DB.
type Dialect int

const (
	// DetectDialect (the zero value) asks New to detect the dialect from the driver.
	DetectDialect Dialect = iota
	// MySQL is MySQL or MariaDB.
	MySQL
	// Postgres is PostgreSQL.
	Postgres
)

// String returns "mysql", "postgres" or "detect".
func (d Dialect) String() string {
	switch d {
	case MySQL:
		return "mysql"
	case Postgres:
		return "postgres"
	case DetectDialect:
		return "detect"
	}
	return fmt.Sprintf("Dialect(%d)", int(d))
}

// Option configures a Store. An option given an invalid value makes New return an error.
type Option func(*config) error

type config struct {
	table   string
	dialect Dialect
}

// WithTable sets the table name (default DefaultTable). It must be a plain lower-case identifier
// (letters a-z, digits and '_', not starting with a digit, at most 63 characters), optionally qualified
// by a schema ("ops.wxopen_credentials"); New rejects anything else, so a table name can never inject
// SQL.
func WithTable(name string) Option {
	return func(c *config) error {
		if !validTable(name) {
			return wxerr.Invalid("table", "a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 63 characters), optionally schema-qualified")
		}
		c.table = name
		return nil
	}
}

// WithDialect sets the dialect (MySQL or Postgres) instead of detecting it from the driver.
func WithDialect(d Dialect) Option {
	return func(c *config) error {
		if d != MySQL && d != Postgres {
			return wxerr.Invalid("dialect", "MySQL or Postgres")
		}
		c.dialect = d
		return nil
	}
}

// Store is a tokenstore.Store in one SQL table. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect Dialect
	table   string
	q       queries
	now     func() time.Time
	writes  atomic.Uint64 // writes of expiring tokens, to purge expired rows now and then (expiry.go)
}

type queries struct {
	create, probe             string
	get, upsert, del, cad     string
	audit, auditPrefix, purge string
	purgeSome                 string
	upsertArgs                func(key, value string, exp sql.NullInt64, now int64, by string) []any
	// casUpdate swaps over an old value; casInsert writes where nothing live is stored (see
	// CompareAndSwap). The args functions order the arguments for the dialect.
	casUpdate, casInsert string
	casUpdateArgs        func(key, old, value string, exp sql.NullInt64, now int64, by string) []any
	casInsertArgs        func(key, value string, exp sql.NullInt64, now int64, by string) []any
}

var _ tokenstore.Store = (*Store)(nil)

// New returns a Store over db. It checks its arguments but does not touch the database; call Migrate to
// create the table, or create it yourself (see the package documentation).
func New(db *sql.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, wxerr.Invalid("db", "a non-nil *sql.DB")
	}
	c := config{table: DefaultTable}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if !validTable(c.table) {
		return nil, wxerr.Invalid("table", "a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 63 characters), optionally schema-qualified")
	}
	switch c.dialect {
	case MySQL, Postgres:
	case DetectDialect:
		c.dialect = detect(db.Driver())
		if c.dialect == DetectDialect {
			return nil, wxerr.Invalid("dialect", fmt.Sprintf("set WithDialect: driver %T is neither go-sql-driver/mysql nor pgx/v5/stdlib", db.Driver()))
		}
	default:
		return nil, wxerr.Invalid("dialect", "MySQL or Postgres")
	}
	return &Store{db: db, dialect: c.dialect, table: c.table, q: build(c.dialect, c.table), now: time.Now}, nil
}

// Dialect returns the dialect the Store speaks.
func (s *Store) Dialect() Dialect { return s.dialect }

// Table returns the table name.
func (s *Store) Table() string { return s.table }

// detect maps a driver to its dialect by type, without importing the driver packages.
func detect(d driver.Driver) Dialect {
	t := reflect.TypeOf(d)
	if t == nil {
		return DetectDialect
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.PkgPath() + "." + t.Name() {
	case "github.com/go-sql-driver/mysql.MySQLDriver":
		return MySQL
	case "github.com/jackc/pgx/v5/stdlib.Driver":
		return Postgres
	}
	return DetectDialect
}

func validTable(name string) bool {
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 63 || (p[0] >= '0' && p[0] <= '9') {
			return false
		}
		for i := 0; i < len(p); i++ {
			c := p[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
				return false
			}
		}
	}
	return true
}

// mysqlMark is the insert id by which CompareAndSwap's MySQL statements report their outcome (see
// build). An AUTO_INCREMENT column would have to count to the largest BIGINT to produce it.
const mysqlMark = math.MaxInt64

func build(d Dialect, t string) queries {
	const cols = "cred_key, cred_value, expires_at, updated_at, updated_by"
	var q queries
	q.probe = "SELECT " + cols + " FROM " + t + " WHERE 1 = 0"
	q.purgeSome = purgeSomeQuery(d, t)
	if d == MySQL {
		mark := strconv.FormatInt(mysqlMark, 10)
		q.create = "CREATE TABLE IF NOT EXISTS " + t + ` (
	cred_key   VARBINARY(255) NOT NULL,
	cred_value MEDIUMBLOB NOT NULL,
	expires_at BIGINT NULL,
	updated_at BIGINT NOT NULL,
	updated_by VARCHAR(255) CHARACTER SET utf8mb4 NOT NULL DEFAULT '',
	PRIMARY KEY (cred_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`
		q.get = "SELECT cred_value, expires_at FROM " + t + " WHERE cred_key = ? AND (expires_at IS NULL OR expires_at > ?)"
		// The new values are passed twice rather than read with VALUES(col), which MySQL 8 deprecates
		// and whose replacement (a row alias) MariaDB lacks.
		q.upsert = "INSERT INTO " + t + " (" + cols + ") VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE " +
			"cred_value = ?, expires_at = ?, updated_at = ?, updated_by = ?"
		q.upsertArgs = func(key, value string, exp sql.NullInt64, now int64, by string) []any {
			return []any{key, value, exp, now, by, value, exp, now, by}
		}
		q.del = "DELETE FROM " + t + " WHERE cred_key = ?"
		q.cad = "DELETE FROM " + t + " WHERE cred_key = ? AND cred_value = ?"
		q.audit = "SELECT cred_key, expires_at, updated_at, updated_by FROM " + t + " WHERE cred_key = ?"
		q.auditPrefix = "SELECT cred_key, expires_at, updated_at, updated_by FROM " + t + " WHERE cred_key LIKE ? ESCAPE '!' ORDER BY cred_key"
		q.purge = "DELETE FROM " + t + " WHERE expires_at IS NOT NULL AND expires_at <= ?"
		// MySQL's affected-rows count cannot tell these statements' outcomes apart: an UPDATE that
		// writes what the row already holds counts 0, and with the DSN option clientFoundRows an
		// ON DUPLICATE KEY UPDATE that changes nothing counts 1, like an insert. So the statements
		// mark the outcome themselves with LAST_INSERT_ID(mysqlMark), which the server returns as
		// the statement's insert id: the UPDATE marks a match, the insert marks a refusal (a live
		// row is there). The mark is a number that no insert generates, so that a table given an
		// AUTO_INCREMENT surrogate key by its owners still reads right.
		q.casUpdate = "UPDATE " + t + " SET cred_value = ?, expires_at = ?, updated_at = ?, " +
			"updated_by = IF(LAST_INSERT_ID(" + mark + "), ?, '') WHERE cred_key = ? AND cred_value = ? AND (expires_at IS NULL OR expires_at > ?)"
		q.casUpdateArgs = func(key, old, value string, exp sql.NullInt64, now int64, by string) []any {
			return []any{value, exp, now, by, key, old, now}
		}
		// An expired row is taken over. The assignments run left to right and each sees the columns
		// assigned before it, so expires_at, which the condition reads, is assigned last.
		const expired = "expires_at IS NOT NULL AND expires_at <= ?"
		q.casInsert = "INSERT INTO " + t + " (" + cols + ") VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE " +
			"cred_value = IF(" + expired + ", ?, cred_value), " +
			"updated_at = IF(" + expired + ", ?, updated_at), " +
			"updated_by = IF(" + expired + ", ?, updated_by), " +
			"expires_at = IF(" + expired + ", ?, IF(LAST_INSERT_ID(" + mark + "), expires_at, expires_at))"
		q.casInsertArgs = func(key, value string, exp sql.NullInt64, now int64, by string) []any {
			return []any{key, value, exp, now, by, now, value, now, now, now, by, now, exp}
		}
		return q
	}
	q.create = "CREATE TABLE IF NOT EXISTS " + t + ` (
	cred_key   VARCHAR(255) NOT NULL PRIMARY KEY,
	cred_value TEXT NOT NULL,
	expires_at BIGINT NULL,
	updated_at BIGINT NOT NULL,
	updated_by VARCHAR(255) NOT NULL DEFAULT ''
)`
	q.get = "SELECT cred_value, expires_at FROM " + t + " WHERE cred_key = $1 AND (expires_at IS NULL OR expires_at > $2)"
	q.upsert = "INSERT INTO " + t + " (" + cols + ") VALUES ($1, $2, $3, $4, $5) ON CONFLICT (cred_key) DO UPDATE SET " +
		"cred_value = EXCLUDED.cred_value, expires_at = EXCLUDED.expires_at, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by"
	q.upsertArgs = func(key, value string, exp sql.NullInt64, now int64, by string) []any {
		return []any{key, value, exp, now, by}
	}
	q.del = "DELETE FROM " + t + " WHERE cred_key = $1"
	q.cad = "DELETE FROM " + t + " WHERE cred_key = $1 AND cred_value = $2"
	q.audit = "SELECT cred_key, expires_at, updated_at, updated_by FROM " + t + " WHERE cred_key = $1"
	q.auditPrefix = "SELECT cred_key, expires_at, updated_at, updated_by FROM " + t + " WHERE cred_key LIKE $1 ESCAPE '!' ORDER BY cred_key"
	q.purge = "DELETE FROM " + t + " WHERE expires_at IS NOT NULL AND expires_at <= $1"
	// PostgreSQL counts the rows an UPDATE matched, and an ON CONFLICT DO UPDATE whose WHERE fails
	// counts 0: the affected-rows count is the outcome.
	q.casUpdate = "UPDATE " + t + " SET cred_value = $1, expires_at = $2, updated_at = $3, updated_by = $4 " +
		"WHERE cred_key = $5 AND cred_value = $6 AND (expires_at IS NULL OR expires_at > $3)"
	q.casUpdateArgs = func(key, old, value string, exp sql.NullInt64, now int64, by string) []any {
		return []any{value, exp, now, by, key, old}
	}
	q.casInsert = "INSERT INTO " + t + " AS c (" + cols + ") VALUES ($1, $2, $3, $4, $5) ON CONFLICT (cred_key) DO UPDATE SET " +
		"cred_value = EXCLUDED.cred_value, expires_at = EXCLUDED.expires_at, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by " +
		"WHERE c.expires_at IS NOT NULL AND c.expires_at <= EXCLUDED.updated_at"
	q.casInsertArgs = func(key, value string, exp sql.NullInt64, now int64, by string) []any {
		return []any{key, value, exp, now, by}
	}
	return q
}

// Migrate creates the table if it does not exist (CREATE TABLE IF NOT EXISTS, see the package
// documentation) and checks that the table has the expected columns. It is safe to call on every
// start, from several processes at once.
func (s *Store) Migrate(ctx context.Context) error {
	_, cerr := s.db.ExecContext(ctx, s.q.create)
	// Two processes creating the table at once can make PostgreSQL's CREATE TABLE IF NOT EXISTS fail
	// in the loser; the probe below decides whether the table is there.
	rows, err := s.db.QueryContext(ctx, s.q.probe)
	if err != nil {
		if cerr != nil {
			return fmt.Errorf("sqlstore: migrate %s: %w", s.table, cerr)
		}
		return fmt.Errorf("sqlstore: migrate %s: table lacks the expected columns: %w", s.table, err)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("sqlstore: migrate %s: %w", s.table, err)
	}
	if err := s.migrateIndex(ctx); err != nil {
		return fmt.Errorf("sqlstore: migrate %s: index on expires_at: %w", s.table, err)
	}
	return nil
}

func checkKey(key string) error {
	if key == "" || len(key) > MaxKeyLen || !utf8.ValidString(key) || strings.IndexByte(key, 0) >= 0 {
		return wxerr.Invalid("key", "1 to 255 bytes of UTF-8 without NUL")
	}
	return nil
}

// Get implements tokenstore.Store. An expired row is reported as tokenstore.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) (tokenstore.Token, error) {
	if err := checkKey(key); err != nil {
		return tokenstore.Token{}, err
	}
	var (
		value string
		exp   sql.NullInt64
	)
	err := s.db.QueryRowContext(ctx, s.q.get, key, s.now().UnixMilli()).Scan(&value, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return tokenstore.Token{}, tokenstore.ErrNotFound
	}
	if err != nil {
		return tokenstore.Token{}, fmt.Errorf("sqlstore: get %q: %w", key, err)
	}
	tok := tokenstore.Token{Value: value}
	if exp.Valid {
		tok.ExpiresAt = time.UnixMilli(exp.Int64)
	}
	return tok, nil
}

// Set implements tokenstore.Store: an upsert in a transaction that also records the time and
// tokenstore.Reason(ctx) in updated_at and updated_by. ExpiresAt is kept to the millisecond (truncated).
// When Set fails, the row keeps its previous value. Keys are 1 to MaxKeyLen bytes and keys and values
// are UTF-8 without NUL (what PostgreSQL's text types hold); anything else is a *wxerr.ValidationError.
func (s *Store) Set(ctx context.Context, key string, tok tokenstore.Token) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if !utf8.ValidString(tok.Value) || strings.IndexByte(tok.Value, 0) >= 0 {
		return wxerr.Invalid("value", "UTF-8 without NUL")
	}
	var exp sql.NullInt64
	if !tok.ExpiresAt.IsZero() {
		exp = sql.NullInt64{Int64: tok.ExpiresAt.UnixMilli(), Valid: true}
	}
	args := s.q.upsertArgs(key, tok.Value, exp, s.now().UnixMilli(), auditReason(ctx))

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: set %q: begin: %w", key, err)
	}
	if _, err := tx.ExecContext(ctx, s.q.upsert, args...); err != nil {
		_ = tx.Rollback() // the error that matters is err; a dropped connection rolls back anyway
		return fmt.Errorf("sqlstore: set %q: %w", key, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: set %q: commit: %w", key, err)
	}
	s.wrote(ctx, exp.Valid)
	return nil
}

// auditReason makes tokenstore.Reason(ctx) fit updated_by: valid UTF-8, no NUL, at most 255
// characters. A long or odd reason must never make a credential write fail.
func auditReason(ctx context.Context) string {
	r := tokenstore.Reason(ctx)
	if r == "" {
		return ""
	}
	r = strings.ReplaceAll(strings.ToValidUTF8(r, "\uFFFD"), "\x00", "")
	if utf8.RuneCountInString(r) > maxReasonLen {
		r = string([]rune(r)[:maxReasonLen])
	}
	return r
}

// Delete implements tokenstore.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, s.q.del, key); err != nil {
		return fmt.Errorf("sqlstore: delete %q: %w", key, err)
	}
	return nil
}

// CompareAndDelete implements tokenstore.Store with one conditional DELETE; it reports whether a row
// was removed.
func (s *Store) CompareAndDelete(ctx context.Context, key, value string) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	res, err := s.db.ExecContext(ctx, s.q.cad, key, value)
	if err != nil {
		return false, fmt.Errorf("sqlstore: compare-and-delete %q: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: compare-and-delete %q: rows affected: %w", key, err)
	}
	return n > 0, nil
}

// CompareAndSwap implements tokenstore.Store with one statement, atomic in the database, that also
// records the time and tokenstore.Reason(ctx) like Set: for a non-empty old, an UPDATE of the row
// whose value is old and which has not expired; for an empty old, an insert that takes over an
// expired row and leaves a live one alone (ON DUPLICATE KEY UPDATE / ON CONFLICT DO UPDATE with a
// condition). Keys and values are checked as Set checks them; an old value that the table cannot hold
// matches nothing.
//
// The statement runs on a connection taken from the pool for it alone (*sql.DB.Conn), because
// database/sql resends a statement that failed with driver.ErrBadConn on another connection; a swap
// resent after it had been applied would find its own write and report false. A driver should
// return ErrBadConn only when nothing was sent, but a CompareAndSwap does not depend on that: taking
// the connection may be retried, the statement never is. When the answer is lost (the connection
// drops after the server committed), the caller gets the error and settles it by reading.
func (s *Store) CompareAndSwap(ctx context.Context, key, old string, tok tokenstore.Token) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	if !utf8.ValidString(tok.Value) || strings.IndexByte(tok.Value, 0) >= 0 {
		return false, wxerr.Invalid("value", "UTF-8 without NUL")
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("sqlstore: compare-and-swap %q: %w", key, err)
	}
	if !utf8.ValidString(old) || strings.IndexByte(old, 0) >= 0 {
		return false, nil // never stored, so never matched
	}
	var exp sql.NullInt64
	if !tok.ExpiresAt.IsZero() {
		exp = sql.NullInt64{Int64: tok.ExpiresAt.UnixMilli(), Valid: true}
	}
	now, by := s.now().UnixMilli(), auditReason(ctx)
	query, args := s.q.casInsert, s.q.casInsertArgs(key, tok.Value, exp, now, by)
	if old != "" {
		query, args = s.q.casUpdate, s.q.casUpdateArgs(key, old, tok.Value, exp, now, by)
	}

	conn, err := s.db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("sqlstore: compare-and-swap %q: %w", key, err)
	}
	res, err := conn.ExecContext(ctx, query, args...)
	_ = conn.Close() // back to the pool before wrote, which may need a connection
	if err != nil {
		return false, fmt.Errorf("sqlstore: compare-and-swap %q: %w", key, err)
	}
	if s.dialect == MySQL {
		id, err := res.LastInsertId()
		if err != nil {
			return false, fmt.Errorf("sqlstore: compare-and-swap %q: insert id: %w", key, err)
		}
		swapped := id == mysqlMark // the UPDATE marks a match
		if old == "" {
			swapped = id != mysqlMark // the insert marks a refusal
		}
		if swapped {
			s.wrote(ctx, exp.Valid)
		}
		return swapped, nil
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: compare-and-swap %q: rows affected: %w", key, err)
	}
	if n == 1 {
		s.wrote(ctx, exp.Valid)
	}
	return n == 1, nil
}

// AuditRecord describes when and by what a credential was last written, without its value.
type AuditRecord struct {
	// Key is the credential's key.
	Key string
	// UpdatedAt is when the row was last written (the writer's clock, to the millisecond).
	UpdatedAt time.Time
	// UpdatedBy is the tokenstore.WithReason annotation of the last write, or "".
	UpdatedBy string
	// ExpiresAt is when the credential expires; zero for a durable one.
	ExpiresAt time.Time
}

// HasExpiry reports whether the credential expires (false for durable credentials such as refresh
// tokens).
func (r AuditRecord) HasExpiry() bool { return !r.ExpiresAt.IsZero() }

// Audit returns the audit record of key, expired or not, or tokenstore.ErrNotFound when there is no
// row.
func (s *Store) Audit(ctx context.Context, key string) (AuditRecord, error) {
	if err := checkKey(key); err != nil {
		return AuditRecord{}, err
	}
	rec, err := scanAudit(s.db.QueryRowContext(ctx, s.q.audit, key))
	if errors.Is(err, sql.ErrNoRows) {
		return AuditRecord{}, tokenstore.ErrNotFound
	}
	if err != nil {
		return AuditRecord{}, fmt.Errorf("sqlstore: audit %q: %w", key, err)
	}
	return rec, nil
}

// AuditPrefix returns the audit records of every key that starts with prefix (all keys for ""),
// ordered by key; for an operator tool listing when each merchant's credentials last changed.
func (s *Store) AuditPrefix(ctx context.Context, prefix string) ([]AuditRecord, error) {
	pattern := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(prefix) + "%"
	rows, err := s.db.QueryContext(ctx, s.q.auditPrefix, pattern)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: audit prefix %q: %w", prefix, err)
	}
	defer rows.Close()
	var out []AuditRecord
	for rows.Next() {
		rec, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: audit prefix %q: %w", prefix, err)
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: audit prefix %q: %w", prefix, err)
	}
	return out, nil
}

func scanAudit(row interface{ Scan(...any) error }) (AuditRecord, error) {
	var (
		rec     AuditRecord
		exp     sql.NullInt64
		updated int64
	)
	if err := row.Scan(&rec.Key, &exp, &updated, &rec.UpdatedBy); err != nil {
		return AuditRecord{}, err
	}
	rec.UpdatedAt = time.UnixMilli(updated)
	if exp.Valid {
		rec.ExpiresAt = time.UnixMilli(exp.Int64)
	}
	return rec, nil
}

// PurgeExpired deletes the rows whose expiry has passed and returns how many it deleted. Get already
// ignores them; purging only reclaims space.
func (s *Store) PurgeExpired(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.q.purge, s.now().UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("sqlstore: purge expired: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: purge expired: rows affected: %w", err)
	}
	return n, nil
}
