// Package sqlstore is a rollout.Store on database/sql, for MySQL/MariaDB (go-sql-driver/mysql) and
// PostgreSQL (pgx/v5/stdlib), shared by every instance of a platform.
//
// Merchants are claimed by lease: a claim is one conditional UPDATE of the due rows whose lease has
// ended (PostgreSQL picks them with FOR UPDATE SKIP LOCKED; MySQL/MariaDB with UPDATE … ORDER BY …
// LIMIT, then reads them back by the claim's unique owner). Every later write of a merchant is an
// UPDATE … WHERE lease_owner = ? AND lease_until > now AND version = ?, in one transaction with its
// history line and its audit quota change, so an instance whose lease was taken over writes nothing.
//
// Tables (prefix p, DefaultPrefix by default; Migrate creates them):
//
//	p_runs       one row per rollout: status, wave and promotion gates, quota wait, version
//	p_merchants  one row per (rollout, appid): state, audit, reasons, next_at, lease, version
//	p_history    one row per transition
//	p_quota      the platform's audit quota account per China month: used, settled, ceiling
//	p_counters   small budgets (speed-ups per rollout)
//
// Times are unix milliseconds in BIGINT columns, so both databases compare them alike.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/wxopen-go/wxopen/rollout"
	credsql "github.com/wxopen-go/wxopen/tokenstore/sqlstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

// Dialect is the SQL dialect: MySQL (also MariaDB) or Postgres, as for the credential store.
type Dialect = credsql.Dialect

// The dialects.
const (
	MySQL    = credsql.MySQL
	Postgres = credsql.Postgres
)

// DefaultPrefix is the table name prefix.
const DefaultPrefix = "wxopen_rollout"

// Store is a rollout.Store on database/sql.
type Store struct {
	db      *sql.DB
	dialect Dialect
	p       string
}

var _ rollout.Store = (*Store)(nil)

// New returns a Store on db in dialect d, with tables named prefix_* ("" is DefaultPrefix). Call
// Migrate once before use.
func New(db *sql.DB, d Dialect, prefix string) (*Store, error) {
	if db == nil {
		return nil, wxerr.Invalid("db", "a non-nil *sql.DB")
	}
	if d != MySQL && d != Postgres {
		return nil, wxerr.Invalid("dialect", "MySQL or Postgres")
	}
	if prefix == "" {
		prefix = DefaultPrefix
	}
	for i := 0; i < len(prefix); i++ {
		c := prefix[i]
		if !(c >= 'a' && c <= 'z' || c == '_' || i > 0 && c >= '0' && c <= '9') || len(prefix) > 48 {
			return nil, wxerr.Invalid("prefix", "a lower-case SQL identifier of at most 48 characters")
		}
	}
	return &Store{db: db, dialect: d, p: prefix}, nil
}

// Migrate creates the tables and indexes that do not exist.
func (s *Store) Migrate(ctx context.Context) error {
	text, big, serial := "TEXT", "BIGINT", "BIGSERIAL PRIMARY KEY"
	if s.dialect == MySQL {
		text, serial = "MEDIUMTEXT", "BIGINT AUTO_INCREMENT PRIMARY KEY"
	}
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS ` + s.p + `_runs (
	id VARCHAR(64) NOT NULL PRIMARY KEY, status VARCHAR(16) NOT NULL, template_id ` + big + ` NOT NULL,
	user_version VARCHAR(64) NOT NULL, created ` + big + ` NOT NULL, wave_open ` + big + ` NOT NULL,
	promote SMALLINT NOT NULL, quota_wait ` + big + ` NOT NULL, version ` + big + ` NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS ` + s.p + `_merchants (
	run_id VARCHAR(64) NOT NULL, app_id VARCHAR(64) NOT NULL, state VARCHAR(16) NOT NULL, open SMALLINT NOT NULL,
	priority INT NOT NULL, wave INT NOT NULL, attempt INT NOT NULL, retries INT NOT NULL DEFAULT 0, audit_id ` + big + ` NOT NULL,
	prev_audit_id ` + big + ` NOT NULL, quota_month VARCHAR(8) NOT NULL, reason ` + text + ` NOT NULL,
	screenshots ` + text + ` NOT NULL, gates ` + text + ` NOT NULL, error ` + text + ` NOT NULL, next_at ` + big + ` NOT NULL,
	pushed VARCHAR(8) NOT NULL, since ` + big + ` NOT NULL, updated ` + big + ` NOT NULL, version ` + big + ` NOT NULL,
	lease_owner VARCHAR(96) NOT NULL, lease_until ` + big + ` NOT NULL, PRIMARY KEY (run_id, app_id))`,
		// Claims walk this index in order (priority, then appid, both descending) and stop after
		// n due rows, instead of sorting every due row.
		`CREATE INDEX ` + s.p + `_claim ON ` + s.p + `_merchants (run_id, open, priority, app_id)`,
		// Tables of a version without retries gain the column (an error when it exists).
		`ALTER TABLE ` + s.p + `_merchants ADD COLUMN retries INT NOT NULL DEFAULT 0`,
		`CREATE INDEX ` + s.p + `_app ON ` + s.p + `_merchants (app_id)`,
		`CREATE TABLE IF NOT EXISTS ` + s.p + `_history (
	id ` + serial + `, run_id VARCHAR(64) NOT NULL, app_id VARCHAR(64) NOT NULL, at ` + big + ` NOT NULL,
	from_state VARCHAR(16) NOT NULL, to_state VARCHAR(16) NOT NULL, detail ` + text + ` NOT NULL, instance VARCHAR(96) NOT NULL)`,
		`CREATE INDEX ` + s.p + `_hist ON ` + s.p + `_history (run_id, app_id)`,
		`CREATE TABLE IF NOT EXISTS ` + s.p + `_quota (
	scope VARCHAR(64) NOT NULL, month VARCHAR(8) NOT NULL, used INT NOT NULL, settled INT NOT NULL, ceiling INT NOT NULL,
	PRIMARY KEY (scope, month))`,
		`CREATE TABLE IF NOT EXISTS ` + s.p + `_counters (k VARCHAR(160) NOT NULL PRIMARY KEY, n INT NOT NULL)`,
	}
	for _, q := range stmts {
		if _, err := s.db.ExecContext(ctx, q); err != nil && !alreadyExists(err) {
			return err
		}
	}
	return nil
}

// alreadyExists reports an index or column that exists (MySQL has no CREATE INDEX IF NOT EXISTS nor
// ADD COLUMN IF NOT EXISTS).
func alreadyExists(err error) bool {
	m := err.Error()
	return strings.Contains(m, "Duplicate key name") || strings.Contains(m, "Duplicate column name") ||
		strings.Contains(m, "already exists")
}

// q rewrites ? placeholders to $n for PostgreSQL.
func (s *Store) q(query string) string {
	query = strings.ReplaceAll(query, "{p}", s.p)
	if s.dialect == MySQL {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func list(v []string) string {
	if len(v) == 0 {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func unlist(s string) []string {
	if s == "" {
		return nil
	}
	var v []string
	_ = json.Unmarshal([]byte(s), &v)
	return v
}

const runCols = "id, status, template_id, user_version, created, wave_open, promote, quota_wait, version"

func scanRun(row interface{ Scan(...any) error }) (rollout.Run, error) {
	var r rollout.Run
	var created, wave, wait int64
	var promote int
	err := row.Scan(&r.ID, &r.Status, &r.TemplateID, &r.UserVersion, &created, &wave, &promote, &wait, &r.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return r, rollout.ErrNotFound
	}
	r.Created, r.WaveOpen, r.Promote, r.QuotaWaitUntil = fromMS(created), fromMS(wave), promote == 1, fromMS(wait)
	return r, err
}

// CreateRun implements rollout.Store.
func (s *Store) CreateRun(ctx context.Context, r rollout.Run) (rollout.Run, error) {
	ins := "INSERT INTO {p}_runs (" + runCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)"
	if s.dialect == MySQL {
		ins = strings.Replace(ins, "INSERT", "INSERT IGNORE", 1)
	} else {
		ins += " ON CONFLICT (id) DO NOTHING"
	}
	if _, err := s.db.ExecContext(ctx, s.q(ins), r.ID, r.Status, r.TemplateID, r.UserVersion, ms(r.Created),
		ms(r.WaveOpen), boolInt(r.Promote), ms(r.QuotaWaitUntil)); err != nil {
		return rollout.Run{}, err
	}
	return s.Run(ctx, r.ID)
}

// Run implements rollout.Store.
func (s *Store) Run(ctx context.Context, id string) (rollout.Run, error) {
	return scanRun(s.db.QueryRowContext(ctx, s.q("SELECT "+runCols+" FROM {p}_runs WHERE id = ?"), id))
}

// UpdateRun implements rollout.Store.
func (s *Store) UpdateRun(ctx context.Context, r rollout.Run) (rollout.Run, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE {p}_runs SET status = ?, wave_open = ?, promote = ?, quota_wait = ?,
	version = version + 1 WHERE id = ? AND version = ?`), r.Status, ms(r.WaveOpen), boolInt(r.Promote), ms(r.QuotaWaitUntil),
		r.ID, r.Version)
	if err != nil {
		return rollout.Run{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.Run(ctx, r.ID); err != nil {
			return rollout.Run{}, err
		}
		return rollout.Run{}, rollout.ErrLeaseLost
	}
	r.Version++
	return r, nil
}

// DeleteRun implements rollout.Store, in one transaction.
func (s *Store) DeleteRun(ctx context.Context, id string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	for _, q := range []string{"DELETE FROM {p}_history WHERE run_id = ?", "DELETE FROM {p}_merchants WHERE run_id = ?",
		"DELETE FROM {p}_runs WHERE id = ?"} {
		if _, err := tx.ExecContext(ctx, s.q(q), id); err != nil {
			return err
		}
	}
	return tx.Commit()
}

const mCols = `run_id, app_id, state, priority, wave, attempt, retries, audit_id, prev_audit_id, quota_month, reason, screenshots,
	gates, error, next_at, pushed, since, updated, version`

func scanMerchant(row interface{ Scan(...any) error }) (rollout.Merchant, error) {
	var m rollout.Merchant
	var shots, gates string
	var next, since, updated int64
	err := row.Scan(&m.RunID, &m.AppID, &m.State, &m.Priority, &m.Wave, &m.Attempt, &m.Retries, &m.AuditID,
		&m.PrevAuditID, &m.QuotaMonth, &m.Reason, &shots, &gates, &m.Error, &next, &m.Pushed, &since, &updated, &m.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return m, rollout.ErrNotFound
	}
	m.ScreenShots, m.Gates, m.NextAt, m.Since, m.Updated = unlist(shots), unlist(gates), fromMS(next), fromMS(since), fromMS(updated)
	return m, err
}

func (s *Store) merchants(ctx context.Context, q string, args ...any) ([]rollout.Merchant, error) {
	rows, err := s.db.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []rollout.Merchant
	for rows.Next() {
		m, err := scanMerchant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// AddMerchants implements rollout.Store, in one multi-row insert that skips stored merchants.
func (s *Store) AddMerchants(ctx context.Context, batch []rollout.Merchant) (int, error) {
	if len(batch) == 0 {
		return 0, nil
	}
	var b strings.Builder
	b.WriteString("INSERT INTO {p}_merchants (" + mCols + ", open, lease_owner, lease_until) VALUES ")
	args := make([]any, 0, len(batch)*22)
	for i, m := range batch {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, '', 0)")
		args = append(args, m.RunID, m.AppID, m.State, m.Priority, m.Wave, m.Attempt, m.Retries, m.AuditID, m.PrevAuditID, m.QuotaMonth,
			m.Reason, list(m.ScreenShots), list(m.Gates), m.Error, ms(m.NextAt), m.Pushed, ms(m.Since), ms(m.Updated),
			boolInt(!m.State.Final()))
	}
	q := b.String()
	if s.dialect == MySQL {
		q = strings.Replace(q, "INSERT", "INSERT IGNORE", 1)
	} else {
		q += " ON CONFLICT (run_id, app_id) DO NOTHING"
	}
	res, err := s.db.ExecContext(ctx, s.q(q), args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// Claim implements rollout.Store.
func (s *Store) Claim(ctx context.Context, runID, owner string, now time.Time, lease time.Duration, n int) ([]rollout.Merchant, error) {
	until, at := ms(now.Add(lease)), ms(now)
	if s.dialect == Postgres {
		return s.merchants(ctx, `UPDATE {p}_merchants SET lease_owner = ?, lease_until = ?
	WHERE (run_id, app_id) IN (SELECT run_id, app_id FROM {p}_merchants
		WHERE run_id = ? AND open = 1 AND next_at <= ? AND lease_until <= ?
		ORDER BY priority DESC, app_id DESC LIMIT ? FOR UPDATE SKIP LOCKED)
	RETURNING `+mCols, owner, until, runID, at, at, n)
	}
	// MySQL/MariaDB: pick the rows through the claim index (SELECT … FOR UPDATE SKIP LOCKED), then
	// lease them by primary key, in one transaction (an UPDATE … ORDER BY … LIMIT sorts every due row).
	for try := 0; ; try++ {
		out, err := s.claimMySQL(ctx, runID, owner, until, at, n)
		if err == nil || !retryable(err) || try == 5 {
			return out, err
		}
	}
}

func (s *Store) claimMySQL(ctx context.Context, runID, owner string, until, at int64, n int) ([]rollout.Merchant, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.QueryContext(ctx, `SELECT app_id FROM `+s.p+`_merchants FORCE INDEX (`+s.p+`_claim)
	WHERE run_id = ? AND open = 1 AND next_at <= ? AND lease_until <= ? ORDER BY priority DESC, app_id DESC LIMIT ?
	FOR UPDATE SKIP LOCKED`, runID, at, at, n)
	if err != nil {
		return nil, err
	}
	var ids []any
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return nil, err
	}
	in := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
	if _, err := tx.ExecContext(ctx, `UPDATE `+s.p+`_merchants SET lease_owner = ?, lease_until = ? WHERE run_id = ? AND app_id IN (`+in+`)`,
		append([]any{owner, until, runID}, ids...)...); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	// Only the rows picked here: the owner may hold others from an earlier claim, still leased.
	return s.merchants(ctx, "SELECT "+mCols+" FROM {p}_merchants WHERE run_id = ? AND lease_owner = ? AND app_id IN ("+in+")",
		append([]any{runID, owner}, ids...)...)
}

// retryable reports MySQL's deadlock and lock wait timeout, after which the statement may run again.
func retryable(err error) bool {
	m := err.Error()
	return strings.Contains(m, "Error 1213") || strings.Contains(m, "Error 1205")
}

// ClaimApp implements rollout.Store.
func (s *Store) ClaimApp(ctx context.Context, runID, appID, owner string, now time.Time, lease time.Duration) (rollout.Merchant, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE {p}_merchants SET lease_owner = ?, lease_until = ?
	WHERE run_id = ? AND app_id = ? AND (lease_until <= ? OR lease_owner = ?)`), owner, ms(now.Add(lease)), runID, appID, ms(now), owner)
	if err != nil {
		return rollout.Merchant{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.Merchant(ctx, runID, appID); err != nil {
			return rollout.Merchant{}, err
		}
		return rollout.Merchant{}, rollout.ErrLeaseLost
	}
	return s.Merchant(ctx, runID, appID)
}

// Save implements rollout.Store: the merchant row (conditional on the lease and version), the
// quota change and the history line, in one transaction.
func (s *Store) Save(ctx context.Context, m rollout.Merchant, owner string, now time.Time, lease time.Duration, t *rollout.Transition, qo rollout.QuotaOp) (rollout.Merchant, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return rollout.Merchant{}, err
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, s.q(`UPDATE {p}_merchants SET state = ?, open = ?, priority = ?, wave = ?, attempt = ?,
	retries = ?, audit_id = ?, prev_audit_id = ?, quota_month = ?, reason = ?, screenshots = ?, gates = ?, error = ?, next_at = ?,
	pushed = ?, since = ?, updated = ?, version = version + 1, lease_until = ?
	WHERE run_id = ? AND app_id = ? AND lease_owner = ? AND lease_until > ? AND version = ?`),
		m.State, boolInt(!m.State.Final()), m.Priority, m.Wave, m.Attempt, m.Retries, m.AuditID, m.PrevAuditID, m.QuotaMonth, m.Reason,
		list(m.ScreenShots), list(m.Gates), m.Error, ms(m.NextAt), m.Pushed, ms(m.Since), ms(now), ms(now.Add(lease)),
		m.RunID, m.AppID, owner, ms(now), m.Version)
	if err != nil {
		return rollout.Merchant{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return rollout.Merchant{}, rollout.ErrLeaseLost
	}
	if qo.Op != rollout.QuotaNone {
		var q string
		switch qo.Op {
		case rollout.QuotaReserve:
			q = "UPDATE {p}_quota SET used = used + 1 WHERE scope = ? AND month = ? AND used < ceiling"
		case rollout.QuotaCount:
			q = "UPDATE {p}_quota SET settled = settled + 1 WHERE scope = ? AND month = ?"
		case rollout.QuotaGiveBack:
			q = "UPDATE {p}_quota SET used = used - 1 WHERE scope = ? AND month = ? AND used > 0"
		}
		res, err := tx.ExecContext(ctx, s.q(q), qo.Scope, qo.Month)
		if err != nil {
			return rollout.Merchant{}, err
		}
		if n, _ := res.RowsAffected(); n == 0 && qo.Op == rollout.QuotaReserve {
			return rollout.Merchant{}, rollout.ErrNoQuota
		}
	}
	if t != nil {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO {p}_history (run_id, app_id, at, from_state, to_state, detail, instance)
	VALUES (?, ?, ?, ?, ?, ?, ?)`), m.RunID, m.AppID, ms(t.At), t.From, t.To, t.Detail, t.Instance); err != nil {
			return rollout.Merchant{}, err
		}
	}
	if err := tx.Commit(); err != nil {
		return rollout.Merchant{}, err
	}
	m.Version++
	m.Updated = now
	return m, nil
}

// Unclaim implements rollout.Store.
func (s *Store) Unclaim(ctx context.Context, m rollout.Merchant, owner string) error {
	_, err := s.db.ExecContext(ctx, s.q("UPDATE {p}_merchants SET lease_owner = '', lease_until = 0 WHERE run_id = ? AND app_id = ? AND lease_owner = ?"),
		m.RunID, m.AppID, owner)
	return err
}

// Hint implements rollout.Store.
func (s *Store) Hint(ctx context.Context, appID, kind string, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, s.q("UPDATE {p}_merchants SET pushed = ?, next_at = ? WHERE app_id = ? AND state = ?"),
		kind, ms(now), appID, rollout.Submitted)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// Retry implements rollout.Store.
func (s *Store) Retry(ctx context.Context, runID string, states []rollout.State, now time.Time) (int, error) {
	if len(states) == 0 {
		return 0, nil
	}
	in := strings.TrimSuffix(strings.Repeat("?, ", len(states)), ", ")
	cond := " WHERE run_id = ? AND lease_until <= ? AND state IN (" + in + ")"
	args := []any{runID, ms(now)}
	for _, st := range states {
		args = append(args, st)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO {p}_history (run_id, app_id, at, from_state, to_state, detail, instance)
	SELECT run_id, app_id, ?, state, ?, 'retry', '' FROM {p}_merchants`+cond), append([]any{ms(now), rollout.Planned}, args...)...); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, s.q(`UPDATE {p}_merchants SET state = ?, open = 1, attempt = attempt + 1, retries = 0, next_at = ?,
	since = ?, version = version + 1`+cond), append([]any{rollout.Planned, ms(now), ms(now)}, args...)...)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), tx.Commit()
}

// Merchant implements rollout.Store.
func (s *Store) Merchant(ctx context.Context, runID, appID string) (rollout.Merchant, error) {
	return scanMerchant(s.db.QueryRowContext(ctx, s.q("SELECT "+mCols+" FROM {p}_merchants WHERE run_id = ? AND app_id = ?"), runID, appID))
}

// Merchants implements rollout.Store.
func (s *Store) Merchants(ctx context.Context, runID string, state rollout.State, after string, limit int) ([]rollout.Merchant, error) {
	if state == "" {
		return s.merchants(ctx, "SELECT "+mCols+" FROM {p}_merchants WHERE run_id = ? AND app_id > ? ORDER BY app_id LIMIT ?",
			runID, after, limit)
	}
	return s.merchants(ctx, "SELECT "+mCols+" FROM {p}_merchants WHERE run_id = ? AND state = ? AND app_id > ? ORDER BY app_id LIMIT ?",
		runID, state, after, limit)
}

// History implements rollout.Store.
func (s *Store) History(ctx context.Context, runID, appID string) ([]rollout.Transition, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT at, from_state, to_state, detail, instance FROM {p}_history
	WHERE run_id = ? AND app_id = ? ORDER BY id`), runID, appID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []rollout.Transition
	for rows.Next() {
		var t rollout.Transition
		var at int64
		if err := rows.Scan(&at, &t.From, &t.To, &t.Detail, &t.Instance); err != nil {
			return nil, err
		}
		t.At = fromMS(at)
		out = append(out, t)
	}
	return out, rows.Err()
}

// Counts implements rollout.Store.
func (s *Store) Counts(ctx context.Context, runID string, wave int) (map[rollout.State]int, error) {
	q, args := "SELECT state, COUNT(*) FROM {p}_merchants WHERE run_id = ?", []any{runID}
	if wave >= 0 {
		q, args = q+" AND wave = ?", append(args, wave)
	}
	rows, err := s.db.QueryContext(ctx, s.q(q+" GROUP BY state"), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[rollout.State]int{}
	for rows.Next() {
		var st rollout.State
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

// RefillAudit implements rollout.Store.
func (s *Store) RefillAudit(ctx context.Context, scope, month string, seen rollout.Quota, rest int) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE {p}_quota SET ceiling = ? WHERE scope = ? AND month = ?
	AND used = ? AND settled = ? AND ceiling = ? AND used = settled`),
		seen.Used+rest, scope, month, seen.Used, seen.Settled, seen.Ceiling)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n > 0 || seen != (rollout.Quota{}) {
		return n > 0, nil
	}
	ins := "INSERT INTO {p}_quota (scope, month, used, settled, ceiling) VALUES (?, ?, 0, 0, ?)"
	if s.dialect == MySQL {
		ins = strings.Replace(ins, "INSERT", "INSERT IGNORE", 1)
	} else {
		ins += " ON CONFLICT (scope, month) DO NOTHING"
	}
	res, err = s.db.ExecContext(ctx, s.q(ins), scope, month, rest)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// AuditQuota implements rollout.Store.
func (s *Store) AuditQuota(ctx context.Context, scope, month string) (rollout.Quota, error) {
	var q rollout.Quota
	err := s.db.QueryRowContext(ctx, s.q("SELECT used, settled, ceiling FROM {p}_quota WHERE scope = ? AND month = ?"), scope, month).
		Scan(&q.Used, &q.Settled, &q.Ceiling)
	if errors.Is(err, sql.ErrNoRows) {
		return rollout.Quota{}, nil
	}
	return q, err
}

// Reserve implements rollout.Store.
func (s *Store) Reserve(ctx context.Context, key string, limit int) (bool, error) {
	ins := "INSERT INTO {p}_counters (k, n) VALUES (?, 0)"
	if s.dialect == MySQL {
		ins = strings.Replace(ins, "INSERT", "INSERT IGNORE", 1)
	} else {
		ins += " ON CONFLICT (k) DO NOTHING"
	}
	if _, err := s.db.ExecContext(ctx, s.q(ins), key); err != nil {
		return false, err
	}
	res, err := s.db.ExecContext(ctx, s.q("UPDATE {p}_counters SET n = n + 1 WHERE k = ? AND n < ?"), key, limit)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// Unreserve implements rollout.Store.
func (s *Store) Unreserve(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, s.q("UPDATE {p}_counters SET n = n - 1 WHERE k = ? AND n > 0"), key)
	return err
}
