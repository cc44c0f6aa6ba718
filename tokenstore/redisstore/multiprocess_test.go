package redisstore_test

// The multi-process test: 4 OS processes (re-executions of this test binary), 50 goroutines each, one
// Redis and one wxtest emulator on loopback. From a cold start (no access token and no card ticket in
// Redis) WeChat must see exactly one api_component_token, one api_authorizer_token and one getticket
// call, and every goroutine of every process must get the same token of each kind.
//
// The parent process sets the platform up through the public API (verify-ticket push, authorisation
// of an official account with cards, handled by the platform's push handler on httptest), so that the
// verify ticket and the refresh token are in Redis under a random key prefix, drops the expiring
// tokens the set-up left there, and starts the children. A child shares nothing with the parent but
// its environment: the emulator URL, the component config, the Redis address and the key prefix.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/redisstore"
	"github.com/wxopen-go/wxopen/wxtest"
)

const (
	mpProcesses  = 4
	mpGoroutines = 50
	mpTestName   = "TestMultiProcessColdStart"
	mpOA         = "wx5555666677778888" // the official account with cards: (b) and (c)

	// mpMarker starts every line a child writes for the parent; the rest of its stdout (the testing
	// package's own lines) is kept only for failure messages.
	mpMarker = "wxopen-mp "

	// Environment of a child. mpEnvChild switches the test into the child role and numbers it.
	mpEnvChild     = "WXOPEN_MP_CHILD"
	mpEnvEmulator  = "WXOPEN_MP_EMULATOR_URL"
	mpEnvRedis     = "WXOPEN_MP_REDIS_ADDR"
	mpEnvPrefix    = "WXOPEN_MP_KEY_PREFIX"
	mpEnvAccount   = "WXOPEN_MP_ACCOUNT"
	mpEnvAppID     = "WXOPEN_MP_COMPONENT_APPID"
	mpEnvSecret    = "WXOPEN_MP_COMPONENT_SECRET"
	mpEnvToken     = "WXOPEN_MP_COMPONENT_TOKEN"
	mpEnvAESKey    = "WXOPEN_MP_COMPONENT_AESKEY"
	mpPathCompTok  = "/cgi-bin/component/api_component_token"
	mpPathAuthzTok = "/cgi-bin/component/api_authorizer_token"
	mpPathTicket   = "/cgi-bin/ticket/getticket"

	// mpUpstreamDelay slows the first answer of each token endpoint, so that every process is surely
	// waiting while one of them fetches.
	mpUpstreamDelay = 150 * time.Millisecond
	// mpDeadline bounds the children's part of the test; a child still running then is killed.
	mpDeadline = 60 * time.Second
)

// The three kinds of token every goroutine asks for.
const (
	mpKindComponent  = "component_access_token"
	mpKindAuthorizer = "authorizer_access_token"
	mpKindCardTicket = "card_api_ticket"
)

var mpKinds = [...]string{mpKindComponent, mpKindAuthorizer, mpKindCardTicket}

// mpResult is one token request of one goroutine of one child, as printed by the child.
type mpResult struct {
	Child int    `json:"child"`
	G     int    `json:"g"`
	Kind  string `json:"kind"`
	Token string `json:"token,omitempty"`
	Err   string `json:"err,omitempty"`
}

func TestMultiProcessColdStart(t *testing.T) {
	if os.Getenv(mpEnvChild) != "" {
		mpChild(t)
		return
	}
	addr := redisAddr(t)
	ctx := context.Background()

	// --- set-up, in the parent: ticket and refresh token reach Redis through the push handler ---
	client, _ := clientFor(t, addr)
	prefix := newPrefix(t, client) // random per run; its keys are removed at the end
	st, err := redisstore.New(client, redisstore.WithKeyPrefix(prefix))
	require.NoError(t, err)
	emu := wxtest.NewTestServer(t)
	app := emu.Component()
	cfg := wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token, EncodingAESKey: app.EncodingAESKey}
	p, err := wxopen.New(cfg, wxopen.WithBaseURL(emu.URL), wxopen.WithCredentialStore(st), wxopen.WithTokenStore(st))
	require.NoError(t, err)
	h, err := p.Handler(component.HandlerConfig{Now: emu.Now})
	require.NoError(t, err)
	events := httptest.NewServer(h)
	t.Cleanup(events.Close)
	emu.SetEventURLs(events.URL, events.URL+"/msg/$APPID$")

	verifyTicket, err := emu.PushVerifyTicket(ctx)
	require.NoError(t, err)
	emu.AddAuthorizer(wxtest.Authorizer{AppID: mpOA, Business: wxtest.BusinessInfo{OpenCard: 1}})
	_, err = emu.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: mpOA})
	require.NoError(t, err)
	// Every refresh now rotates the refresh token and kills the old one, as WeChat may: a second
	// refresh by another process would fail with 61023 on top of being counted.
	emu.RotateRefreshTokens(true)

	rtKey := authorizer.Key(app.AppID, mpOA, "refresh_token")
	rt0, ok := emu.AuthorizerRefreshToken(mpOA)
	require.True(t, ok)
	stored, err := st.Get(ctx, rtKey)
	require.NoError(t, err, "the handler stored the refresh token in Redis")
	require.Equal(t, rt0, stored.Value)

	// --- cold start: the set-up's component and authorizer access tokens leave Redis ---
	dropped := mpDropExpiringTokens(t, ctx, client, st, prefix, verifyTicket)
	require.Len(t, dropped, 2, "the set-up left exactly the component token (api_query_auth) and the authorizer token (from api_query_auth)")
	var sawComp, sawAuthz bool
	for _, v := range dropped {
		sawComp = sawComp || emu.ComponentAccessTokenValid(v)
		sawAuthz = sawAuthz || emu.AuthorizerAccessTokenValid(mpOA, v)
	}
	require.True(t, sawComp && sawAuthz, "the dropped keys were the component and the authorizer access tokens")
	for k, tok := range mpStoredTokens(t, ctx, client, st, prefix) {
		require.True(t, tok.ExpiresAt.IsZero() || tok.Value == verifyTicket || strings.Contains(k, ":push:"),
			"only credentials (and the push handler's memories) are left in Redis")
	}
	for _, path := range []string{mpPathCompTok, mpPathAuthzTok, mpPathTicket} {
		emu.InjectFault(path, wxtest.Fault{Delay: mpUpstreamDelay})
	}
	emu.ResetCalls()
	// From here on the parent's Platform sends nothing.

	// --- the children ---
	env := []string{
		mpEnvEmulator + "=" + emu.URL,
		mpEnvRedis + "=" + addr,
		mpEnvPrefix + "=" + prefix,
		mpEnvAccount + "=" + mpOA,
		mpEnvAppID + "=" + app.AppID,
		mpEnvSecret + "=" + app.AppSecret,
		mpEnvToken + "=" + app.Token,
		mpEnvAESKey + "=" + app.EncodingAESKey,
	}
	dctx, cancel := context.WithTimeout(ctx, mpDeadline)
	defer cancel()
	children := make([]*mpProc, mpProcesses)
	t.Cleanup(func() { // a failed test never leaves a child behind
		cancel()
		for _, c := range children {
			if c != nil {
				c.wait()
			}
		}
	})
	for i := range children {
		children[i] = mpStart(t, dctx, i, env)
	}
	for _, c := range children {
		select {
		case <-c.ready:
		case <-c.done:
			t.Fatalf("child %d ended before it was ready: %v\n%s", c.id, c.wait(), c.output())
		case <-dctx.Done():
			t.Fatalf("child %d not ready within %s; killed (%v)\n%s", c.id, mpDeadline, c.wait(), c.output())
		}
	}
	// Release: every child waits for the same instant, then opens its barrier of 50 goroutines.
	start := time.Now().Add(100 * time.Millisecond)
	for _, c := range children {
		_, err := fmt.Fprintf(c.stdin, "start %d\n", start.UnixNano())
		require.NoError(t, err)
		require.NoError(t, c.stdin.Close())
	}
	for _, c := range children {
		select {
		case <-c.done:
		case <-dctx.Done():
			t.Fatalf("child %d did not finish within %s; killed (%v)\n%s", c.id, mpDeadline, c.wait(), c.output())
		}
		err := c.wait()
		require.NoError(t, err, "child %d\n%s", c.id, c.output())
	}

	late := make([]string, len(children))
	for i, c := range children {
		late[i] = c.released
	}
	t.Logf("barriers opened late by %v", late)
	calls := map[string]int{}
	for _, path := range []string{mpPathCompTok, mpPathAuthzTok, mpPathTicket} {
		calls[path] = emu.Calls(path)
	}
	t.Logf("%d processes × %d goroutines × %d kinds; emulator calls: %v", mpProcesses, mpGoroutines, len(mpKinds), calls)

	// --- what the processes got ---
	var all []mpResult
	for _, c := range children {
		require.Len(t, c.results, mpGoroutines*len(mpKinds), "child %d: one result per goroutine and kind\n%s", c.id, c.output())
		seen := map[string]bool{}
		for _, r := range c.results {
			require.Equal(t, c.id, r.Child)
			seen[fmt.Sprintf("%d/%s", r.G, r.Kind)] = true
		}
		require.Len(t, seen, mpGoroutines*len(mpKinds), "child %d: every goroutine asked for every kind once", c.id)
		all = append(all, c.results...)
	}
	tokens := map[string]map[string]int{} // kind → token → how many requests got it
	var failures []string
	for _, r := range all {
		if r.Err != "" || r.Token == "" {
			failures = append(failures, fmt.Sprintf("child %d goroutine %d %s: %q", r.Child, r.G, r.Kind, r.Err))
			continue
		}
		if tokens[r.Kind] == nil {
			tokens[r.Kind] = map[string]int{}
		}
		tokens[r.Kind][r.Token]++
	}
	if len(failures) > 0 {
		shown := failures[:min(len(failures), 10)]
		t.Fatalf("%d of %d requests failed; every goroutine of every process must get every token:\n%s",
			len(failures), len(all), strings.Join(shown, "\n"))
	}
	for _, kind := range mpKinds {
		require.Len(t, tokens[kind], 1, "all processes agree on one %s; got %v", kind, tokens[kind])
	}
	comp, authz, ticket := mpOnly(tokens[mpKindComponent]), mpOnly(tokens[mpKindAuthorizer]), mpOnly(tokens[mpKindCardTicket])

	assert.Equal(t, 1, calls[mpPathCompTok], "api_component_token calls from a cold start")
	assert.Equal(t, 1, calls[mpPathAuthzTok], "api_authorizer_token calls from a cold start")
	assert.Equal(t, 1, calls[mpPathTicket], "getticket calls from a cold start")
	assert.True(t, emu.ComponentAccessTokenValid(comp))
	assert.True(t, emu.AuthorizerAccessTokenValid(mpOA, authz))

	// Redis holds exactly what the processes were handed, the rotated refresh token, and no lock.
	inRedis := map[string]bool{}
	for _, tok := range mpStoredTokens(t, ctx, client, st, prefix) {
		inRedis[tok.Value] = true
	}
	for _, v := range []string{comp, authz, ticket} {
		assert.True(t, inRedis[v], "the token the processes agreed on is the one in Redis")
	}
	rt1, ok := emu.AuthorizerRefreshToken(mpOA)
	require.True(t, ok)
	assert.NotEqual(t, rt0, rt1, "the one refresh rotated the refresh token")
	stored, err = st.Get(ctx, rtKey)
	require.NoError(t, err)
	assert.Equal(t, rt1, stored.Value, "the rotated refresh token reached Redis")
}

// mpOnly returns the single key of m.
func mpOnly(m map[string]int) string {
	for k := range m {
		return k
	}
	return ""
}

// mpKeys lists the keys under prefix, without the prefix.
func mpKeys(t *testing.T, ctx context.Context, c redis.UniversalClient, prefix string) []string {
	t.Helper()
	var keys []string
	iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, strings.TrimPrefix(iter.Val(), prefix))
	}
	require.NoError(t, iter.Err())
	sort.Strings(keys)
	return keys
}

// mpStoredTokens reads every key under prefix through the Store; a key that is not a token (a lock
// left behind) fails the test.
func mpStoredTokens(t *testing.T, ctx context.Context, c redis.UniversalClient, st *redisstore.Store, prefix string) map[string]tokenstore.Token {
	t.Helper()
	out := map[string]tokenstore.Token{}
	for _, k := range mpKeys(t, ctx, c, prefix) {
		tok, err := st.Get(ctx, k)
		require.NoError(t, err, "key %s", k)
		out[k] = tok
	}
	return out
}

// mpDropExpiringTokens deletes from Redis every token with an expiry except the verify ticket (a
// credential), without knowing the SDK's key names, and returns the values it deleted.
func mpDropExpiringTokens(t *testing.T, ctx context.Context, c redis.UniversalClient, st *redisstore.Store, prefix, verifyTicket string) []string {
	t.Helper()
	var dropped []string
	for k, tok := range mpStoredTokens(t, ctx, c, st, prefix) {
		if tok.ExpiresAt.IsZero() || tok.Value == verifyTicket || strings.Contains(k, ":push:") {
			continue // durable, the ticket, or the push handler's memories (not tokens)
		}
		ok, err := st.CompareAndDelete(ctx, k, tok.Value)
		require.NoError(t, err)
		require.True(t, ok, "key %s changed under the test", k)
		dropped = append(dropped, tok.Value)
	}
	return dropped
}

// mpProc is a running child process.
type mpProc struct {
	id    int
	cmd   *exec.Cmd
	stdin io.WriteCloser

	ready chan struct{} // closed when the child reports its 50 goroutines waiting at the barrier
	done  chan struct{} // closed when its stdout is at EOF; results and other are then complete

	results  []mpResult
	released string       // how late after the common instant its barrier opened
	other    bytes.Buffer // stdout lines that are not the child's reports
	stderr   bytes.Buffer

	waitOnce sync.Once
	waitErr  error
}

// mpStart re-executes the test binary as child id, running only this test, with explicit flags (none
// of the parent's -test.* flags is passed on).
func mpStart(t *testing.T, ctx context.Context, id int, env []string) *mpProc {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0],
		"-test.run=^"+mpTestName+"$", "-test.count=1", "-test.timeout=55s", "-test.v=false",
		"-test.shuffle=off", "-test.failfast=false")
	cmd.Env = append(os.Environ(), append([]string{mpEnvChild + "=" + strconv.Itoa(id)}, env...)...)
	cmd.WaitDelay = 5 * time.Second // a killed child's pipes are closed even if something holds them
	c := &mpProc{id: id, cmd: cmd, ready: make(chan struct{}), done: make(chan struct{})}
	cmd.Stderr = &c.stderr
	var err error
	c.stdin, err = cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	go c.read(stdout)
	return c
}

// read parses the child's stdout until EOF.
func (c *mpProc) read(r io.Reader) {
	defer close(c.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	readyClosed := false
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, mpMarker)
		switch {
		case !ok:
			c.other.WriteString(line + "\n")
		case rest == "ready":
			if !readyClosed {
				close(c.ready)
				readyClosed = true
			}
		case strings.HasPrefix(rest, "released "):
			c.released = strings.TrimPrefix(rest, "released ")
		default:
			var r mpResult
			if err := json.Unmarshal([]byte(rest), &r); err != nil {
				c.other.WriteString("unparseable report: " + line + "\n")
				continue
			}
			c.results = append(c.results, r)
		}
	}
	if err := sc.Err(); err != nil {
		c.other.WriteString("reading stdout: " + err.Error() + "\n")
	}
}

// wait reaps the child (once) after its stdout is drained.
func (c *mpProc) wait() error {
	c.waitOnce.Do(func() {
		c.stdin.Close()
		<-c.done
		c.waitErr = c.cmd.Wait()
	})
	return c.waitErr
}

// output is what the child wrote besides its reports; call it only after wait.
func (c *mpProc) output() string {
	return "--- stdout:\n" + c.other.String() + "--- stderr:\n" + c.stderr.String()
}

// mpChild is the child's side: its own Platform over the same Redis and prefix, 50 goroutines released
// together at the instant the parent sends, each asking for the three tokens, and the results printed
// as marker lines.
func mpChild(t *testing.T) {
	id, err := strconv.Atoi(os.Getenv(mpEnvChild))
	require.NoError(t, err)
	get := func(name string) string {
		v := os.Getenv(name)
		require.NotEmpty(t, v, "child environment %s", name)
		return v
	}
	cfg := wxopen.Config{ComponentAppID: get(mpEnvAppID), AppSecret: get(mpEnvSecret), Token: get(mpEnvToken), EncodingAESKey: get(mpEnvAESKey)}
	account := get(mpEnvAccount)
	client, _ := clientFor(t, get(mpEnvRedis)) // pings: the pool is warm before the barrier
	st, err := redisstore.New(client, redisstore.WithKeyPrefix(get(mpEnvPrefix)))
	require.NoError(t, err)
	p, err := wxopen.New(cfg, wxopen.WithBaseURL(get(mpEnvEmulator)), wxopen.WithCredentialStore(st), wxopen.WithTokenStore(st))
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	ask := map[string]func(context.Context) (string, error){
		mpKindComponent: func(ctx context.Context) (string, error) {
			tok, err := p.Component().ComponentToken(ctx)
			return tok.Value, err
		},
		mpKindAuthorizer: func(ctx context.Context) (string, error) {
			tok, err := p.Component().AuthorizerToken(ctx, account)
			return tok.Value, err
		},
		mpKindCardTicket: func(ctx context.Context) (string, error) {
			return p.Card(account).APITicket(ctx)
		},
	}
	gate := make(chan struct{})
	results := make([][]mpResult, mpGoroutines)
	var wg sync.WaitGroup
	for g := 0; g < mpGoroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			// Each goroutine starts with a different kind, so that all three are contended at once.
			for k := 0; k < len(mpKinds); k++ {
				kind := mpKinds[(g+k)%len(mpKinds)]
				r := mpResult{Child: id, G: g, Kind: kind}
				if v, err := ask[kind](ctx); err != nil {
					r.Err = err.Error()
				} else {
					r.Token = v
				}
				results[g] = append(results[g], r)
			}
		}()
	}
	fmt.Println(mpMarker + "ready")

	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	ns, perr := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(line), "start "), 10, 64)
	if perr != nil {
		cancel() // the goroutines end without sending anything
		close(gate)
		wg.Wait()
		t.Fatalf("child %d: no start instant from the parent (line %q, read error %v): %v", id, line, err, perr)
	}
	time.Sleep(time.Until(time.Unix(0, ns)))
	close(gate)
	fmt.Printf("%sreleased %s\n", mpMarker, time.Since(time.Unix(0, ns)))
	wg.Wait()

	out := bufio.NewWriter(os.Stdout)
	for _, rs := range results {
		for _, r := range rs {
			b, err := json.Marshal(r)
			require.NoError(t, err)
			fmt.Fprintf(out, "%s%s\n", mpMarker, b)
		}
	}
	require.NoError(t, out.Flush())
}
