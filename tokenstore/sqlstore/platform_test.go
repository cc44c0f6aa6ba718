package sqlstore_test

// Durable credentials through a whole Platform (issue 9): what WeChat pushes and what the SDK
// exchanges is written to SQL, survives the loss of every in-process store, and a refresh-token
// rotation is durable before the access token that came with it is handed out — or the caller gets
// the error. Each test runs against MariaDB and PostgreSQL and drives a wxopen.Platform against the
// wxtest emulator, with the Platform's push handler on httptest.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	wxopen "github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/internal/faultproxy"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/sqlstore"
	"github.com/wxopen-go/wxopen/wxerr"
	"github.com/wxopen-go/wxopen/wxtest"
)

const (
	pathComponentToken  = "/cgi-bin/component/api_component_token"
	pathQueryAuth       = "/cgi-bin/component/api_query_auth"
	pathAuthorizerToken = "/cgi-bin/component/api_authorizer_token"

	merchant = "wx7a7a7a7a7a7a7a7a"
)

// world is one platform's durable state in one SQL table, and the emulator that issued it. The test
// itself reads the table through admin, a pool no Platform uses.
type world struct {
	t     *testing.T
	b     backend
	emu   *wxtest.Server
	app   wxtest.ComponentApp
	table string
	admin *sqlstore.Store

	ticket  string // the verify ticket pushed to the first process
	refresh string // the refresh token the emulator issued on authorisation
}

func (w *world) ticketKey() string {
	// The component client's storage layout, pinned here on purpose: changing it would orphan every
	// stored ticket on upgrade.
	return w.app.AppID + ":verify_ticket"
}

func (w *world) key(name string) string { return authorizer.Key(w.app.AppID, merchant, name) }

// authorisedWorld plays the first process: a Platform whose credential store is a sqlstore.Store
// (token store: memory) receives the verify ticket push and the merchant's authorisation through its
// handler, which exchanges the code. Then that process ends: its handler, Platform, memory store and
// *sql.DB are dropped. Call counters are reset.
func authorisedWorld(t *testing.T, b backend) *world {
	t.Helper()
	c := ctx(t)
	adminDB := b.open(t)
	w := &world{t: t, b: b, emu: wxtest.NewTestServer(t)}
	w.app = w.emu.Component()
	w.table = table(t, adminDB)
	var err error
	w.admin, err = sqlstore.New(adminDB, sqlstore.WithTable(w.table))
	require.NoError(t, err)

	db1 := b.open(t)
	creds := w.sqlStore(db1)
	p1, rec := w.platform(creds, tokenstore.NewMemoryStore())
	var (
		mu         sync.Mutex // the handler runs the callback on its own goroutine
		authorized []*component.AuthorizedEvent
	)
	h, err := p1.Handler(component.HandlerConfig{
		Now: w.emu.Now,
		OnAuthorized: func(_ context.Context, ev *component.AuthorizedEvent) error {
			mu.Lock()
			defer mu.Unlock()
			authorized = append(authorized, ev)
			return nil
		},
	})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	w.emu.SetEventURLs(srv.URL, "")

	w.ticket, err = w.emu.PushVerifyTicket(c)
	require.NoError(t, err)
	_, err = w.emu.Authorize(c, wxtest.AuthorizeRequest{AuthorizerAppID: merchant})
	require.NoError(t, err)
	var ok bool
	w.refresh, ok = w.emu.AuthorizerRefreshToken(merchant)
	require.True(t, ok)

	mu.Lock()
	require.Len(t, authorized, 1)
	require.NotNil(t, authorized[0].Authorization, "the handler exchanged the code")
	assert.Equal(t, merchant, authorized[0].AuthorizerAppID)
	mu.Unlock()
	assert.Equal(t, 1, w.emu.Calls(pathQueryAuth))
	assert.Equal(t, 1, w.emu.Calls(pathComponentToken))
	assert.Equal(t, []string{w.ticket}, rec.sent(pathComponentToken, "component_verify_ticket"))

	// The table holds what the pushes carried, and names the event that wrote each row.
	w.assertRow(w.ticketKey(), w.ticket, "push:component_verify_ticket")
	tr, err := w.admin.Audit(c, w.ticketKey())
	require.NoError(t, err)
	assert.True(t, tr.HasExpiry(), "the verify ticket expires")
	w.assertRow(w.key("refresh_token"), w.refresh, "push:authorized")
	rr, err := w.admin.Audit(c, w.key("refresh_token"))
	require.NoError(t, err)
	assert.False(t, rr.HasExpiry(), "a refresh token is durable")
	ar, err := w.admin.Audit(c, w.key("authorization"))
	require.NoError(t, err)
	assert.Equal(t, "push:authorized", ar.UpdatedBy)
	// Expiring tokens went to the token store, not to the durable table.
	for _, k := range []string{w.key("access_token"), w.app.AppID + ":component_access_token"} {
		_, err := w.admin.Audit(c, k)
		assert.ErrorIs(t, err, tokenstore.ErrNotFound, "%s in the credential table", k)
	}

	// The process ends. Pushes from now on would fail (and fail the test): nothing is pushed again.
	srv.Close()
	require.NoError(t, db1.Close())
	w.emu.ResetCalls()
	return w
}

// sqlStore is a migrated Store over db on the world's table, as a process would make at start-up.
func (w *world) sqlStore(db *sql.DB) *sqlstore.Store {
	w.t.Helper()
	s, err := sqlstore.New(db, sqlstore.WithTable(w.table))
	require.NoError(w.t, err)
	require.NoError(w.t, s.Migrate(ctx(w.t)))
	return s
}

// platform is a new Platform on the emulator with the given stores; rec sees every request it sends.
func (w *world) platform(creds, tokens tokenstore.Store) (*wxopen.Platform, *recorder) {
	w.t.Helper()
	rec := newRecorder(w.t)
	p, err := wxopen.New(wxopen.Config{ComponentAppID: w.app.AppID, AppSecret: w.app.AppSecret, Token: w.app.Token,
		EncodingAESKey: w.app.EncodingAESKey},
		wxopen.WithBaseURL(w.emu.URL), wxopen.WithHTTPClient(&http.Client{Transport: rec}),
		wxopen.WithCredentialStore(creds), wxopen.WithTokenStore(tokens))
	require.NoError(w.t, err)
	return p, rec
}

// restart is a new process: a new *sql.DB, Store and memory token store, and a Platform over them.
func (w *world) restart() (*wxopen.Platform, *recorder) {
	w.t.Helper()
	return w.platform(w.sqlStore(w.b.open(w.t)), tokenstore.NewMemoryStore())
}

// assertRow checks the value of key in the table and the event that last wrote it.
func (w *world) assertRow(key, value, by string) {
	w.t.Helper()
	got, err := w.admin.Get(ctx(w.t), key)
	if assert.NoError(w.t, err, key) {
		assert.Equal(w.t, value, got.Value, key)
	}
	rec, err := w.admin.Audit(ctx(w.t), key)
	if assert.NoError(w.t, err, key) {
		assert.Equal(w.t, by, rec.UpdatedBy, "updated_by of %s", key)
	}
}

// TestPlatformRestart: credentials written through a Platform survive the loss of every in-process
// store; a new Platform on the same table refreshes the merchant's access token from the stored
// refresh token, with no re-authorisation, and gets its component token from the stored ticket,
// with no new push.
func TestPlatformRestart(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		w := authorisedWorld(t, b)
		c := ctx(t)
		p, rec := w.restart()

		tok, err := p.Component().AuthorizerToken(c, merchant)
		require.NoError(t, err)
		assert.True(t, w.emu.AuthorizerAccessTokenValid(merchant, tok.Value), "the emulator issued the token")
		assert.True(t, tok.ExpiresAt.After(time.Now()))

		// WeChat's side: one refresh, with the refresh token it issued, and no authorisation.
		current, ok := w.emu.AuthorizerRefreshToken(merchant)
		require.True(t, ok)
		assert.Equal(t, w.refresh, current)
		assert.Equal(t, 1, w.emu.Calls(pathAuthorizerToken))
		assert.Equal(t, []string{current}, rec.sent(pathAuthorizerToken, "authorizer_refresh_token"))
		assert.Equal(t, []string{merchant}, rec.sent(pathAuthorizerToken, "authorizer_appid"))
		assert.Equal(t, 0, w.emu.Calls(pathQueryAuth))
		assert.Equal(t, 1, w.emu.Calls(pathComponentToken))
		assert.Equal(t, []string{w.ticket}, rec.sent(pathComponentToken, "component_verify_ticket"),
			"the component token comes from the stored ticket")

		// The token is a working one: a call on the merchant's behalf goes through with it.
		info, err := p.MiniProgram(merchant).BasicInfo(c)
		require.NoError(t, err)
		assert.Equal(t, merchant, info.AppID)
		assert.Equal(t, 1, w.emu.Calls(pathAuthorizerToken), "the warm token is reused")

		rec2, err := p.Component().StoredAuthorization(c, merchant)
		require.NoError(t, err)
		assert.Equal(t, merchant, rec2.AuthorizerAppID)
		assert.NotEmpty(t, rec2.FuncScopes)

		// No rotation, so nothing was rewritten: the rows still name the push that wrote them.
		w.assertRow(w.key("refresh_token"), w.refresh, "push:authorized")
		w.assertRow(w.ticketKey(), w.ticket, "push:component_verify_ticket")
	})
}

// TestPlatformRotation: when WeChat rotates the refresh token, the new one is in the table before the
// access token is handed out, however many callers wait for that refresh; the next process uses it.
func TestPlatformRotation(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		w := authorisedWorld(t, b)
		c := ctx(t)
		w.emu.RotateRefreshTokens(true)

		// A second process, whose refresh-token writes are observed: at the moment of the write the
		// access token must not be in the token store yet (it is stored, then returned, only after
		// the fetch, and so the write, has finished).
		tokens := tokenstore.NewMemoryStore()
		type write struct {
			value, reason, emulatorHonours string
			accessTokenStored              bool
		}
		var (
			mu     sync.Mutex
			writes []write
		)
		creds := &hookStore{Store: w.sqlStore(w.b.open(t)), beforeSet: func(ctx context.Context, key string, tok tokenstore.Token) error {
			if key != w.key("refresh_token") {
				return nil
			}
			_, err := tokens.Get(ctx, w.key("access_token"))
			honoured, _ := w.emu.AuthorizerRefreshToken(merchant)
			mu.Lock()
			defer mu.Unlock()
			writes = append(writes, write{tok.Value, tokenstore.Reason(ctx), honoured, !errors.Is(err, tokenstore.ErrNotFound)})
			return nil
		}}
		p, rec := w.platform(creds, tokens)

		const callers = 20
		got := make([]tokenstore.Token, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errs[i] = p.Component().AuthorizerToken(c, merchant)
			}()
		}
		wg.Wait()
		for i := range callers {
			require.NoError(t, errs[i], "caller %d", i)
			assert.Equal(t, got[0].Value, got[i].Value, "caller %d", i)
		}
		assert.True(t, w.emu.AuthorizerAccessTokenValid(merchant, got[0].Value))

		rotated, ok := w.emu.AuthorizerRefreshToken(merchant)
		require.True(t, ok)
		require.NotEqual(t, w.refresh, rotated, "the emulator rotated the refresh token")
		assert.Equal(t, 1, w.emu.Calls(pathAuthorizerToken), "one refresh for every caller")
		assert.Equal(t, []string{w.refresh}, rec.sent(pathAuthorizerToken, "authorizer_refresh_token"))
		assert.Equal(t, []write{{value: rotated, reason: "api_authorizer_token", emulatorHonours: rotated}}, writes,
			"one write of the rotated token, before the access token was stored")
		// Read after the calls returned: the table holds WeChat's current refresh token.
		w.assertRow(w.key("refresh_token"), rotated, "api_authorizer_token")

		// Restart again, WeChat no longer rotating: the rotated token is the one that works.
		w.emu.RotateRefreshTokens(false)
		w.emu.ResetCalls()
		p3, rec3 := w.restart()
		tok, err := p3.Component().AuthorizerToken(c, merchant)
		require.NoError(t, err)
		assert.True(t, w.emu.AuthorizerAccessTokenValid(merchant, tok.Value))
		assert.Equal(t, 1, w.emu.Calls(pathAuthorizerToken))
		assert.Equal(t, []string{rotated}, rec3.sent(pathAuthorizerToken, "authorizer_refresh_token"))
		assert.Equal(t, 0, w.emu.Calls(pathQueryAuth))
		w.assertRow(w.key("refresh_token"), rotated, "api_authorizer_token")
	})
}

// TestPlatformRotationFault: the database goes away while a rotated refresh token is being written.
// The caller gets the error, never the access token, and once the database is back the previous
// refresh token is still in the table.
//
// WeChat rotated the token and the old one may already be dead (the emulator retires it at once, as
// RotateRefreshTokens documents). Returning the error is the only honest answer — handing out the
// access token would hide that the one credential able to renew it was never saved — but the rotated
// token is not lost: the component client keeps it in memory and writes it first on the next refresh,
// which the end of each fault case shows. (A process that dies before the store recovers loses it.)
func TestPlatformRotationFault(t *testing.T) {
	for _, mode := range []struct {
		name     string
		midWrite bool // cut the connection while the upsert waits inside its transaction
	}{
		{name: "gone before the write"},
		{name: "gone in the middle of the write", midWrite: true},
	} {
		t.Run(mode.name, func(t *testing.T) {
			forEach(t, func(t *testing.T, b backend) {
				w := authorisedWorld(t, b)
				c := ctx(t)
				w.emu.RotateRefreshTokens(true)
				db, px := w.openProxied()

				var lock *sql.Tx
				if mode.midWrite {
					// A second client locks the row, so the rotation's upsert blocks inside its
					// transaction; the connection is cut there.
					lock = w.lockRow(w.key("refresh_token"))
				}
				// The hook runs on the Manager's fetch goroutine: it only records and cuts; the test
				// goroutine asserts once AuthorizerToken has returned.
				var (
					cut    bool
					cutErr error
				)
				creds := &hookStore{Store: w.sqlStore(db)}
				creds.wrapSet = func(_ context.Context, key string, _ tokenstore.Token, set func() error) error {
					if key != w.key("refresh_token") || cut {
						return set()
					}
					cut = true
					if mode.midWrite {
						go func() {
							w.waitUpsertBlocked()
							px.Down()
						}()
					} else {
						px.Down()
					}
					cutErr = set()
					return cutErr
				}
				tokens := tokenstore.NewMemoryStore()
				p, rec := w.platform(creds, tokens)

				tok, err := p.Component().AuthorizerToken(c, merchant)
				if lock != nil {
					require.NoError(t, lock.Rollback())
				}
				require.True(t, cut, "the rotated token was written")
				require.Error(t, cutErr, "a write to a database that went away succeeded")
				t.Logf("store error: %v", cutErr)
				require.Error(t, err, "an access token was handed out without its refresh token saved")
				assert.Zero(t, tok)
				assert.ErrorIs(t, err, cutErr, "the store's failure is the caller's error")
				assert.False(t, errors.Is(err, wxerr.ErrNotAuthorized), "a database failure is not a missing authorisation")
				assert.False(t, errors.Is(err, tokenstore.ErrNotFound), "a database failure is not a miss")
				assert.Contains(t, err.Error(), "store rotated refresh token")
				rotated, _ := w.emu.AuthorizerRefreshToken(merchant)
				require.NotEqual(t, w.refresh, rotated)
				assert.NotContains(t, err.Error(), rotated, "a refresh token is a secret")
				assert.Equal(t, 1, w.emu.Calls(pathAuthorizerToken))
				assert.Equal(t, []string{w.refresh}, rec.sent(pathAuthorizerToken, "authorizer_refresh_token"))
				_, err = tokens.Get(c, w.key("access_token"))
				assert.ErrorIs(t, err, tokenstore.ErrNotFound, "the access token was cached")

				// The database is back. Cut before the write, the previous refresh token is there,
				// written by the authorisation, both through the Platform's own pool and through
				// another. Cut in the middle, the server may have applied the write after the client
				// was gone (the writer cannot know: an ambiguous outcome), and the table then holds
				// the rotated token.
				px.Up()
				got, err := creds.Get(c, w.key("refresh_token"))
				require.NoError(t, err)
				if mode.midWrite && got.Value == rotated {
					w.assertRow(w.key("refresh_token"), rotated, "api_authorizer_token")
				} else {
					assert.Equal(t, w.refresh, got.Value)
					w.assertRow(w.key("refresh_token"), w.refresh, "push:authorized")
				}

				// WeChat has moved on and no longer honours the previous token (the emulator retires
				// it at once). The rotated token it issued was kept in memory by the component client
				// with the token it replaces: the next refresh settles that write first (a
				// compare-and-swap over the previous token, or nothing to do if it landed) and uses
				// the rotated token, so no re-authorisation is needed.
				tok, err = p.Component().AuthorizerToken(c, merchant)
				require.NoError(t, err)
				assert.True(t, w.emu.AuthorizerAccessTokenValid(merchant, tok.Value))
				assert.Equal(t, 2, w.emu.Calls(pathAuthorizerToken))
				assert.Equal(t, []string{w.refresh, rotated}, rec.sent(pathAuthorizerToken, "authorizer_refresh_token"))
				current, _ := w.emu.AuthorizerRefreshToken(merchant)
				w.assertRow(w.key("refresh_token"), current, "api_authorizer_token")
			})
		})
	}
}

// TestPlatformDatabaseDownAtRefresh: with the database unreachable when an access token is needed,
// the caller gets the error, WeChat is not called with a guess, and nothing is mistaken for a missing
// authorisation; once the database is back the stored refresh token works.
func TestPlatformDatabaseDownAtRefresh(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		w := authorisedWorld(t, b)
		c := ctx(t)
		db, px := w.openProxied()
		p, rec := w.platform(w.sqlStore(db), tokenstore.NewMemoryStore())

		px.Down()
		_, err := p.Component().AuthorizerToken(c, merchant)
		require.Error(t, err)
		assert.False(t, errors.Is(err, wxerr.ErrNotAuthorized), "an unreachable database reported as no authorisation: %v", err)
		assert.Contains(t, err.Error(), "read refresh token")
		assert.Equal(t, 0, w.emu.Calls(pathAuthorizerToken))

		px.Up()
		tok, err := p.Component().AuthorizerToken(c, merchant)
		require.NoError(t, err)
		assert.True(t, w.emu.AuthorizerAccessTokenValid(merchant, tok.Value))
		assert.Equal(t, []string{w.refresh}, rec.sent(pathAuthorizerToken, "authorizer_refresh_token"))
		assert.Equal(t, 0, w.emu.Calls(pathQueryAuth))
	})
}

// lockRow locks key's row from a separate connection until the returned transaction ends.
func (w *world) lockRow(key string) *sql.Tx {
	w.t.Helper()
	db := w.b.open(w.t)
	tx, err := db.BeginTx(ctx(w.t), nil)
	require.NoError(w.t, err)
	ph := "?"
	if w.b.dialect == sqlstore.Postgres {
		ph = "$1"
	}
	var v string
	require.NoError(w.t, tx.QueryRowContext(ctx(w.t), "SELECT cred_value FROM "+w.table+" WHERE cred_key = "+ph+" FOR UPDATE", key).Scan(&v))
	require.Equal(w.t, w.refresh, v)
	return tx
}

// waitUpsertBlocked waits until a write into the world's table (an upsert, or the UPDATE of a
// compare-and-swap) waits on a lock. It runs on its own goroutine, so it reports with Errorf and gives
// up after 10 s.
func (w *world) waitUpsertBlocked() {
	q := "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE ? OR INFO LIKE ?"
	args := []any{"INSERT INTO " + w.table + " %", "UPDATE " + w.table + " %"}
	if w.b.dialect == sqlstore.Postgres {
		q = "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND (query LIKE $1 OR query LIKE $2)"
	}
	db, err := sql.Open(w.b.driver, lookupEnv(w.b.env))
	if err != nil {
		w.t.Errorf("waitUpsertBlocked: %v", err)
		return
	}
	defer db.Close()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		var n int
		if err := db.QueryRow(q, args...).Scan(&n); err != nil {
			w.t.Errorf("waitUpsertBlocked: %v", err)
			return
		}
		if n > 0 {
			return
		}
	}
	w.t.Errorf("the rotation's upsert never blocked on the locked row")
}

// openProxied returns a *sql.DB on the world's database through a TCP proxy the test can take down,
// so that the database goes away for that pool alone (the server and every other pool stay up).
func (w *world) openProxied() (*sql.DB, *faultproxy.Proxy) {
	w.t.Helper()
	return faultproxy.OpenSQL(w.t, w.b.driver, mustEnv(w.t, w.b.env))
}

// hookStore is a tokenstore.Store that runs test code around Set and CompareAndSwap.
type hookStore struct {
	tokenstore.Store
	// beforeSet, when set, runs before every Set; an error fails the Set without writing.
	beforeSet func(ctx context.Context, key string, tok tokenstore.Token) error
	// wrapSet, when set, performs every Set; set is the real write.
	wrapSet func(ctx context.Context, key string, tok tokenstore.Token, set func() error) error
}

func (h *hookStore) Set(ctx context.Context, key string, tok tokenstore.Token) error {
	if h.beforeSet != nil {
		if err := h.beforeSet(ctx, key, tok); err != nil {
			return err
		}
	}
	set := func() error { return h.Store.Set(ctx, key, tok) }
	if h.wrapSet != nil {
		return h.wrapSet(ctx, key, tok, set)
	}
	return set()
}

// CompareAndSwap runs the hooks of Set: durable credentials are written by compare-and-swap.
func (h *hookStore) CompareAndSwap(ctx context.Context, key, old string, tok tokenstore.Token) (bool, error) {
	if h.beforeSet != nil {
		if err := h.beforeSet(ctx, key, tok); err != nil {
			return false, err
		}
	}
	var ok bool
	set := func() (err error) {
		ok, err = h.Store.CompareAndSwap(ctx, key, old, tok)
		return err
	}
	if h.wrapSet != nil {
		err := h.wrapSet(ctx, key, tok, set)
		return ok, err
	}
	err := set()
	return ok, err
}

// recorder is an http.RoundTripper that keeps the JSON body of every request the Platform sends.
type recorder struct {
	tr *http.Transport

	mu     sync.Mutex
	bodies map[string][]map[string]any // path → bodies, in order
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{tr: http.DefaultTransport.(*http.Transport).Clone(), bodies: make(map[string][]map[string]any)}
	t.Cleanup(r.tr.CloseIdleConnections)
	return r
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	body := map[string]any{}
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		_ = json.Unmarshal(b, &body) // not JSON: recorded as an empty body
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	r.mu.Lock()
	r.bodies[req.URL.Path] = append(r.bodies[req.URL.Path], body)
	r.mu.Unlock()
	return r.tr.RoundTrip(req)
}

// sent returns field of every body sent to path, in order.
func (r *recorder) sent(path, field string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, b := range r.bodies[path] {
		s, _ := b[field].(string)
		out = append(out, s)
	}
	return out
}

// TestPlatformAmbiguousRotationThenPeerRotation (issue 14): two instances share the table. Instance A
// rotates RT1 → RT2: the database commits, but the answer is lost on the way back (the proxy swallows
// it and cuts the connection: "invalid connection" on MariaDB, "unexpected EOF" on PostgreSQL).
// Instance B then rotates RT2 → RT3. A's next refresh must send RT3: putting back its remembered RT2
// would make WeChat answer 61023 (the merchant would have to authorise again). With the database
// readable at once, A settles its write by reading it back; with the database gone right after the
// lost answer, A keeps the pair and settles it at the next refresh, finding B's RT3.
func TestPlatformAmbiguousRotationThenPeerRotation(t *testing.T) {
	for _, mode := range []struct {
		name     string
		downThen bool // the database goes away right after the lost answer
	}{
		{name: "read back at once"},
		{name: "database gone after the lost answer", downThen: true},
	} {
		t.Run(mode.name, func(t *testing.T) {
			forEach(t, func(t *testing.T, b backend) {
				w := authorisedWorld(t, b)
				c := ctx(t)
				w.emu.RotateRefreshTokens(true)
				db, px := w.openProxied()
				var (
					mu       sync.Mutex
					lost     bool
					writeErr error
				)
				creds := &hookStore{Store: w.sqlStore(db)}
				creds.wrapSet = func(_ context.Context, key string, tok tokenstore.Token, set func() error) error {
					mu.Lock()
					defer mu.Unlock()
					if key != w.key("refresh_token") || lost {
						return set()
					}
					lost = true
					cut := px.LoseReply(tok.Value) // the rotated token travels with the write
					writeErr = set()
					<-cut.Done()
					if mode.downThen {
						px.Down()
					}
					return writeErr
				}
				pA, recA := w.platform(creds, tokenstore.NewMemoryStore())
				tokA, errA := pA.Component().AuthorizerToken(c, merchant)
				mu.Lock()
				require.True(t, lost, "A's rotation was written")
				require.Error(t, writeErr, "the answer to the write was lost")
				mu.Unlock()
				t.Logf("lost answer: %v", writeErr)
				rt2, _ := w.emu.AuthorizerRefreshToken(merchant)
				w.assertRow(w.key("refresh_token"), rt2, "api_authorizer_token") // the database committed
				if mode.downThen {
					require.Error(t, errA, "the write could not be settled: no access token without its refresh token")
					assert.NotContains(t, errA.Error(), rt2)
					px.Up()
				} else {
					require.NoError(t, errA, "settled by reading the row back")
					require.NoError(t, pA.Component().AuthorizerTokenSource(merchant).Invalidate(c, tokA.Value))
				}

				// Instance B, its own pool, rotates RT2 → RT3.
				pB, recB := w.restart()
				_, err := pB.Component().AuthorizerToken(c, merchant)
				require.NoError(t, err)
				assert.Equal(t, []string{rt2}, recB.sent(pathAuthorizerToken, "authorizer_refresh_token"))
				rt3, _ := w.emu.AuthorizerRefreshToken(merchant)
				require.NotEqual(t, rt2, rt3)
				w.assertRow(w.key("refresh_token"), rt3, "api_authorizer_token")

				// A refreshes again: with RT3, the live token.
				tok, err := pA.Component().AuthorizerToken(c, merchant)
				require.NoError(t, err, "no 61023")
				assert.True(t, w.emu.AuthorizerAccessTokenValid(merchant, tok.Value))
				assert.Equal(t, []string{w.refresh, rt3}, recA.sent(pathAuthorizerToken, "authorizer_refresh_token"), "RT2 is never sent again")
				current, _ := w.emu.AuthorizerRefreshToken(merchant)
				w.assertRow(w.key("refresh_token"), current, "api_authorizer_token")
			})
		})
	}
}
