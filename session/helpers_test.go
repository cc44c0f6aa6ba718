package session_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/crypto"
	"github.com/wxopen-go/wxopen/internal/teststores"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/tokenstore"
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
	{"redis", func(t *testing.T) tokenstore.Store { return teststores.Redis(t, "session") }},
	{"mariadb", func(t *testing.T) tokenstore.Store { return teststores.SQL(t, "mysql", "WXOPEN_MYSQL_DSN", "session") }},
	{"postgres", func(t *testing.T) tokenstore.Store { return teststores.SQL(t, "pgx", "WXOPEN_POSTGRES_DSN", "session") }},
}
