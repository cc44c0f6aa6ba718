package session_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/crypto"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/redisstore"
	"github.com/wxopen-go/wxopen/tokenstore/sqlstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

const (
	appA = "wxAAAAAAAAAAAAAAAA"
	appB = "wxBBBBBBBBBBBBBBBB"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Millisecond)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeWeChat plays component jscode2session: each code names an appid and an openid, works once, and
// every login issues a new session key (as WeChat does).
type fakeWeChat struct {
	mu      sync.Mutex
	codes   map[string]miniprogram.Session // code → the user it logs in, without key
	codeApp map[string]string
	keys    map[string]string // appid/openid → latest session key
	calls   int
}

func newFakeWeChat() *fakeWeChat {
	return &fakeWeChat{codes: map[string]miniprogram.Session{}, codeApp: map[string]string{}, keys: map[string]string{}}
}

// code issues a wx.login code of appID for openID (and unionID, which may be empty).
func (f *fakeWeChat) code(appID, openID, unionID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := "code-" + randHex(8)
	f.codes[c] = miniprogram.Session{OpenID: openID, UnionID: unionID}
	f.codeApp[c] = appID
	return c
}

func (f *fakeWeChat) Login(_ context.Context, appID, code string) (*miniprogram.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	s, ok := f.codes[code]
	if !ok || f.codeApp[code] != appID {
		return nil, &wxerr.APIError{Code: wxerr.CodeInvalidCode, Msg: "invalid code"}
	}
	delete(f.codes, code)
	s.SessionKey = base64.StdEncoding.EncodeToString(randBytes(16))
	f.keys[appID+"/"+s.OpenID] = s.SessionKey
	return &s, nil
}

// key returns the latest session key of appID/openID.
func (f *fakeWeChat) key(appID, openID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.keys[appID+"/"+openID]
}

// encrypt returns encryptedData and iv of plaintext v (a JSON object, watermark added for appID) under
// key, as WeChat hands them to the mini program.
func encrypt(t testing.TB, key, appID string, v map[string]any) (data, iv string) {
	t.Helper()
	v["watermark"] = map[string]any{"appid": appID, "timestamp": 1700000000}
	plain, err := json.Marshal(v)
	require.NoError(t, err)
	iv = base64.StdEncoding.EncodeToString(randBytes(16))
	data, err = crypto.EncryptUserData(crypto.UserData{SessionKey: key, IV: iv}, plain)
	require.NoError(t, err)
	return data, iv
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func randHex(n int) string { return hex.EncodeToString(randBytes(n)) }

// stores are the backends every session test runs on.
var stores = []struct {
	name string
	new  func(t *testing.T) tokenstore.Store
}{
	{"memory", func(*testing.T) tokenstore.Store { return tokenstore.NewMemoryStore() }},
	{"redis", func(t *testing.T) tokenstore.Store { return newRedisStore(t) }},
	{"mariadb", func(t *testing.T) tokenstore.Store { return newSQLStore(t, "mysql", "WXOPEN_MYSQL_DSN") }},
	{"postgres", func(t *testing.T) tokenstore.Store { return newSQLStore(t, "pgx", "WXOPEN_POSTGRES_DSN") }},
}

// newSQLStore returns a sqlstore on a fresh table of the database named by the DSN in env, dropped
// at the end: skipped without one outside CI, fatal inside CI (like the sqlstore tests).
func newSQLStore(t *testing.T, driver, env string) tokenstore.Store {
	t.Helper()
	dsn := os.Getenv(env)
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal(env + " must be set in CI (source .ci/sql.sh)")
		}
		t.Skip("session tests on SQL need " + env + " (source .ci/sql.sh)")
	}
	db, err := sql.Open(driver, dsn)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, db.PingContext(ctx), "%s does not answer", env)
	table := "wxopen_test_session_" + randHex(6)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = db.ExecContext(ctx, "DROP TABLE IF EXISTS "+table)
		db.Close()
	})
	st, err := sqlstore.New(db, sqlstore.WithTable(table))
	require.NoError(t, err)
	require.NoError(t, st.Migrate(ctx))
	return st
}

// newRedisStore returns a redisstore over WXOPEN_REDIS_ADDR with a random prefix, removed at the end:
// skipped without a server outside CI, fatal inside CI (like the redisstore tests).
func newRedisStore(t testing.TB) tokenstore.Store {
	t.Helper()
	addr := os.Getenv("WXOPEN_REDIS_ADDR")
	if addr == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("WXOPEN_REDIS_ADDR must be set in CI (source .ci/redis.sh)")
		}
		t.Skip("session tests on Redis need WXOPEN_REDIS_ADDR (source .ci/redis.sh)")
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, c.Ping(ctx).Err(), "redis at %s (WXOPEN_REDIS_ADDR) does not answer", addr)
	prefix := "wxopentest:session:" + randHex(8) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		c.Close()
	})
	st, err := redisstore.New(c, redisstore.WithKeyPrefix(prefix))
	require.NoError(t, err)
	return st
}
