package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Expired rows go by age. Get and CompareAndSwap already treat them as absent; what is left is their
// space. Keys written with a TTL and never read again (the push handlers' memory of handled pushes,
// one row per push) would otherwise fill the table, so every purgeEvery-th write of an expiring token
// also deletes up to purgeBatch expired rows, through the index on expires_at that Migrate creates.
// A store thus removes up to four expired rows per expiring row it writes, and never a live one.
const (
	purgeEvery = 64
	purgeBatch = 256
)

// indexName is the name of the index on expires_at: the table's name without its schema, cut so that
// the whole fits in 63 characters (PostgreSQL's limit; MySQL's is 64), and "_exp".
func indexName(table string) string {
	name := table[strings.LastIndexByte(table, '.')+1:]
	if len(name) > 59 {
		name = name[:59]
	}
	return name + "_exp"
}

// splitTable returns the schema part of a qualified table name ("" when unqualified) and the name.
func splitTable(table string) (schema, name string) {
	if i := strings.LastIndexByte(table, '.'); i >= 0 {
		return table[:i], table[i+1:]
	}
	return "", table
}

// migrateIndex creates the index on expires_at unless the table has one (tables created before the
// index existed get it on their next Migrate). Several processes may run it at once: a creation that
// fails because another process created the index meanwhile is not an error.
func (s *Store) migrateIndex(ctx context.Context) error {
	has, err := s.hasExpiryIndex(ctx)
	if err != nil || has {
		return err
	}
	stmt := "CREATE INDEX " + indexName(s.table) + " ON " + s.table + " (expires_at)"
	if s.dialect == Postgres {
		stmt = "CREATE INDEX IF NOT EXISTS " + indexName(s.table) + " ON " + s.table + " (expires_at)"
	}
	if _, cerr := s.db.ExecContext(ctx, stmt); cerr != nil {
		if has, err := s.hasExpiryIndex(ctx); err == nil && has {
			return nil
		}
		return cerr
	}
	return nil
}

// hasExpiryIndex reports whether an index of the table starts with expires_at.
func (s *Store) hasExpiryIndex(ctx context.Context) (bool, error) {
	schema, name := splitTable(s.table)
	var q string
	if s.dialect == MySQL {
		q = "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) " +
			"AND TABLE_NAME = ? AND COLUMN_NAME = 'expires_at' AND SEQ_IN_INDEX = 1"
	} else {
		q = "SELECT COUNT(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace " +
			"JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] " +
			"WHERE n.nspname = COALESCE(NULLIF($1, ''), current_schema()) AND c.relname = $2 AND a.attname = 'expires_at'"
	}
	var n int
	if err := s.db.QueryRowContext(ctx, q, schema, name).Scan(&n); err != nil {
		return false, err
	}
	return n > 0, nil
}

// wrote counts a successful write of tok and, every purgeEvery-th expiring one, purges a batch of
// expired rows. The write has happened: a failed purge is dropped (the next one, or PurgeExpired,
// will do it).
func (s *Store) wrote(ctx context.Context, hasExpiry bool) {
	if !hasExpiry || s.writes.Add(1)%purgeEvery != 0 {
		return
	}
	_, _ = s.purgeSome(ctx)
}

// purgeSome deletes up to purgeBatch expired rows in a READ COMMITTED transaction (InnoDB then locks
// no gaps, so concurrent inserts do not wait on the purge), and returns how many it deleted.
func (s *Store) purgeSome(ctx context.Context) (int64, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, s.q.purgeSome, s.now().UnixMilli())
	if err != nil {
		_ = tx.Rollback()
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func purgeSomeQuery(d Dialect, t string) string {
	if d == MySQL {
		return fmt.Sprintf("DELETE FROM %s WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT %d", t, purgeBatch)
	}
	// PostgreSQL's DELETE has no LIMIT. The outer condition is checked again on a row that a
	// concurrent write changed meanwhile, so a row taken over (live again) is left alone.
	return fmt.Sprintf("DELETE FROM %[1]s WHERE cred_key IN (SELECT cred_key FROM %[1]s WHERE expires_at <= $1 LIMIT %[2]d) "+
		"AND expires_at IS NOT NULL AND expires_at <= $1", t, purgeBatch)
}
