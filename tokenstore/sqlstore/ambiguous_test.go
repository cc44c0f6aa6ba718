package sqlstore_test

// Writes whose answer is lost (issue 14): the database applied the write, the connection broke before
// the client heard so. CompareAndSwap must then return an error — never true, never a false "another
// value is stored" — and a read shows what the database really holds. A blind retry of the
// remembered write must not overwrite what a peer wrote since.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/internal/faultproxy"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/sqlstore"
)

func waitCut(t *testing.T, cut *faultproxy.Cut) {
	t.Helper()
	select {
	case <-cut.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy never cut the connection: the marked request was not sent")
	}
}

// TestCompareAndSwapAnswerLost plays the rotation of issue 14 on a real database: instance A rotates
// RT1 → RT2, the database commits, the answer is lost. A gets an error, reads, and learns RT2 is
// stored. Instance B reads RT2 and rotates RT2 → RT3. A's remembered write (RT1 → RT2) is refused:
// RT3 stays.
func TestCompareAndSwapAnswerLost(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		dsn := lookupEnv(b.env)
		b.open(t) // skips without the database
		dbA, px := faultproxy.OpenSQL(t, b.driver, dsn)
		a := newStore(t, dbA)
		peer, err := sqlstore.New(b.open(t), sqlstore.WithTable(a.Table()))
		require.NoError(t, err)
		c := ctx(t)
		const key = "wxopen:component:wxc0:authorizer_refresh_token:wxa1"
		unique := randomSuffix(t)
		rt1, rt2, rt3 := "RT1-"+unique, "RT2-"+unique, "RT3-"+unique
		require.NoError(t, a.Set(c, key, tokenstore.Token{Value: rt1}))

		cut := px.LoseReply(rt2)
		ok, err := a.CompareAndSwap(tokenstore.WithReason(c, "api_authorizer_token"), key, rt1, tokenstore.Token{Value: rt2})
		waitCut(t, cut)
		require.Error(t, err, "a write whose answer was lost reported an outcome (ok=%v)", ok)
		assert.False(t, ok)
		assert.False(t, errors.Is(err, tokenstore.ErrNotFound))
		assert.NotContains(t, err.Error(), rt2, "a refresh token is a secret")
		t.Logf("A's error: %v", err)

		// What the database committed, through A's own pool and through the peer's.
		for name, s := range map[string]*sqlstore.Store{"A": a, "peer": peer} {
			got, err := s.Get(c, key)
			require.NoError(t, err, name)
			assert.Equal(t, rt2, got.Value, "%s reads what was committed", name)
		}
		rec, err := peer.Audit(c, key)
		require.NoError(t, err)
		assert.Equal(t, "api_authorizer_token", rec.UpdatedBy, "the swap kept the audit trail")

		// B rotates RT2 → RT3.
		ok, err = peer.CompareAndSwap(c, key, rt2, tokenstore.Token{Value: rt3})
		require.NoError(t, err)
		require.True(t, ok)

		// A retries its remembered write: refused, RT3 stays.
		ok, err = a.CompareAndSwap(c, key, rt1, tokenstore.Token{Value: rt2})
		require.NoError(t, err)
		assert.False(t, ok, "A's stale write went through")
		got, err := peer.Get(c, key)
		require.NoError(t, err)
		assert.Equal(t, rt3, got.Value, "RT2 was written over RT3")
	})
}

// TestCompareAndSwapAbsentAnswerLost: the push memory's insert (empty old, with a TTL) whose answer
// is lost: an error, and the row is there with its expiry.
func TestCompareAndSwapAbsentAnswerLost(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		b.open(t)
		db, px := faultproxy.OpenSQL(t, b.driver, lookupEnv(b.env))
		s := newStore(t, db)
		c := ctx(t)
		marker := "push-" + randomSuffix(t)
		exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)

		cut := px.LoseReply(marker)
		ok, err := s.CompareAndSwap(c, "push:1", "", tokenstore.Token{Value: marker, ExpiresAt: exp})
		waitCut(t, cut)
		require.Error(t, err)
		assert.False(t, ok)

		got, err := s.Get(c, "push:1")
		require.NoError(t, err)
		assert.Equal(t, marker, got.Value)
		assert.True(t, got.ExpiresAt.Equal(exp))
		ok, err = s.CompareAndSwap(c, "push:1", "", tokenstore.Token{Value: marker, ExpiresAt: exp})
		require.NoError(t, err)
		assert.False(t, ok, "the key is remembered")
	})
}

// TestSetCommitAnswerLost: the proxy also loses the answer to a COMMIT (Set runs in a transaction):
// Set returns the error although the database committed, and the row holds the new value.
func TestSetCommitAnswerLost(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		b.open(t)
		db, px := faultproxy.OpenSQL(t, b.driver, lookupEnv(b.env))
		s := newStore(t, db)
		c := ctx(t)
		require.NoError(t, s.Set(c, "k", tokenstore.Token{Value: "old"}))

		commit := map[sqlstore.Dialect]string{sqlstore.MySQL: "COMMIT", sqlstore.Postgres: "commit"}[b.dialect]
		cut := px.LoseReply(commit)
		err := s.Set(c, "k", tokenstore.Token{Value: "new"})
		waitCut(t, cut)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "commit")
		t.Logf("Set's error: %v", err)

		got, err := s.Get(c, "k")
		require.NoError(t, err)
		assert.Equal(t, "new", got.Value, "the database committed")
	})
}

// TestCompareAndSwapNotResentOnBadConn: database/sql resends a statement that failed with
// driver.ErrBadConn on a fresh connection. A driver that says ErrBadConn after the server applied the
// swap (which drivers are asked never to do, but a CompareAndSwap must not depend on it) would make a
// resent swap find its own write and report false. CompareAndSwap runs its statement where
// database/sql does not resend it: the caller gets the error, and the read shows the swap.
func TestCompareAndSwapNotResentOnBadConn(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		b.open(t)
		var inner driver.Connector
		switch b.dialect {
		case sqlstore.MySQL:
			cfg, err := mysql.ParseDSN(lookupEnv(b.env))
			require.NoError(t, err)
			cfg.InterpolateParams = true // the statement goes through ExecContext, not a prepared Stmt
			inner, err = mysql.NewConnector(cfg)
			require.NoError(t, err)
		case sqlstore.Postgres:
			cfg, err := pgx.ParseConfig(lookupEnv(b.env))
			require.NoError(t, err)
			inner = stdlib.GetConnector(*cfg)
		}
		unique := randomSuffix(t)
		lying := &lyingConnector{Connector: inner, marker: "RT2-" + unique}
		db := sql.OpenDB(lying)
		t.Cleanup(func() { _ = db.Close() })
		s := newStore(t, db)
		c := ctx(t)
		require.NoError(t, s.Set(c, "rt", tokenstore.Token{Value: "RT1-" + unique}))

		ok, err := s.CompareAndSwap(c, "rt", "RT1-"+unique, tokenstore.Token{Value: "RT2-" + unique})
		require.True(t, lying.lied.Load(), "the driver never saw the swap")
		require.Error(t, err, "CompareAndSwap reported ok=%v for a swap whose answer was lost", ok)
		assert.ErrorIs(t, err, driver.ErrBadConn)
		assert.False(t, ok)
		got, err := s.Get(c, "rt")
		require.NoError(t, err)
		assert.Equal(t, "RT2-"+unique, got.Value)
	})
}

func randomSuffix(t *testing.T) string {
	b := make([]byte, 8)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// lyingConnector wraps a driver's connector. The first ExecContext whose arguments carry marker is
// executed for real, and then reported as driver.ErrBadConn: a driver that lies about a write the
// server applied.
type lyingConnector struct {
	driver.Connector
	marker string
	lied   atomic.Bool
}

func (l *lyingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := l.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &lyingConn{Conn: c, l: l}, nil
}

type lyingConn struct {
	driver.Conn
	l *lyingConnector
}

func (c *lyingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
	if err != nil {
		return res, err
	}
	for _, a := range args {
		if v, ok := a.Value.(string); ok && v == c.l.marker && c.l.lied.CompareAndSwap(false, true) {
			_ = c.Conn.Close()
			return nil, driver.ErrBadConn
		}
	}
	return res, nil
}

func (c *lyingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
}

func (c *lyingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *lyingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *lyingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if v, ok := c.Conn.(driver.NamedValueChecker); ok {
		return v.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *lyingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *lyingConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}
