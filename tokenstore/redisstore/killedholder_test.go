package redisstore_test

// A process that holds the refresh lock is SIGKILLed: the other processes' callers that hold a valid
// (due) token are served at once, never waiting for the lease, and the refresh happens once the lease
// has lapsed. The holder is a re-execution of this test binary (see multiprocess_test.go).

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/redisstore"
)

const (
	khTestName  = "TestKilledLockHolderDelaysNobodyWithAValidToken"
	khEnvChild  = "WXOPEN_KH_CHILD"
	khEnvRedis  = "WXOPEN_KH_REDIS_ADDR"
	khEnvPrefix = "WXOPEN_KH_KEY_PREFIX"
	khKey       = "wxCOMP:authorizer:wxAPP:access_token"
	khLease     = 3 * time.Second
	khMarker    = "wxopen-kh locked "
)

func TestKilledLockHolderDelaysNobodyWithAValidToken(t *testing.T) {
	if os.Getenv(khEnvChild) != "" {
		khChild(t)
		return
	}
	st, client, prefix := newStore(t)
	ctx := context.Background()

	// This process holds the token, valid for an hour, on a clock the test moves into the margin.
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	var fetches atomic.Int64
	var fetchedAt atomic.Int64
	fetch := func(ctx context.Context, key string) (tokenstore.Token, error) {
		fetches.Add(1)
		fetchedAt.Store(time.Now().UnixNano())
		return tokenstore.Token{Value: "T2", ExpiresAt: clock().Add(2 * time.Hour)}, nil
	}
	m := mustManager(tokenstore.NewManager(st, fetch, tokenstore.WithClock(clock), tokenstore.WithJitter(0), tokenstore.WithLockLease(khLease)))
	require.NoError(t, m.Set(ctx, khKey, tokenstore.Token{Value: "T1", ExpiresAt: time.Now().Add(time.Hour)}))

	// Another process takes the lock to refresh the same token, and is killed while WeChat answers.
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(dctx, os.Args[0], "-test.run=^"+khTestName+"$", "-test.count=1", "-test.v=false", "-test.timeout=25s")
	cmd.Env = append(os.Environ(), khEnvChild+"=1", khEnvRedis+"="+redisAddr(t), khEnvPrefix+"="+prefix)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var lockedAt time.Time
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), khMarker); ok {
			ns, err := strconv.ParseInt(rest, 10, 64)
			require.NoError(t, err)
			lockedAt = time.Unix(0, ns)
			break
		}
	}
	if lockedAt.IsZero() {
		_ = cmd.Wait()
		t.Fatalf("the child never took the lock\n%s", stderr.String())
	}
	require.NoError(t, cmd.Process.Kill()) // SIGKILL: no deferred release, the lease stays
	_ = cmd.Wait()
	go func() { _, _ = bufio.NewReader(stdout).ReadString(0) }()
	held, err := client.Exists(ctx, prefix+khKey+":lock").Result()
	require.NoError(t, err)
	require.EqualValues(t, 1, held, "the dead process's lock is still in Redis")

	// T1 is now due (5-minute margin) with 3 minutes left: 50 callers with a 1 s deadline.
	offset.Store(int64(time.Hour - 3*time.Minute))
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			tok, err := m.Token(cctx, khKey)
			if err == nil && tok.Value != "T1" {
				err = fmt.Errorf("got %q", tok.Value)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err, "a caller holding a valid token waited for the dead holder's lease")
	}
	assert.Zero(t, fetches.Load(), "nobody fetches while the lease is held")

	// Once the lease has lapsed the lock is taken over and the token refreshed, once.
	require.Eventually(t, func() bool {
		tok, err := m.Token(ctx, khKey)
		return err == nil && tok.Value == "T2"
	}, khLease+10*time.Second, 50*time.Millisecond)
	assert.Equal(t, int64(1), fetches.Load())
	assert.False(t, time.Unix(0, fetchedAt.Load()).Before(lockedAt.Add(khLease-100*time.Millisecond)),
		"fetched %s after the dead holder took the lock; its lease is %s", time.Unix(0, fetchedAt.Load()).Sub(lockedAt), khLease)
	stored, err := st.Get(ctx, khKey)
	require.NoError(t, err)
	assert.Equal(t, "T2", stored.Value)
}

// khChild takes the lock through its own Manager (for which T1 is already stale) and blocks in the
// fetch, after telling the parent, until it is killed.
func khChild(t *testing.T) {
	client, _ := clientFor(t, os.Getenv(khEnvRedis))
	st, err := redisstore.New(client, redisstore.WithKeyPrefix(os.Getenv(khEnvPrefix)))
	require.NoError(t, err)
	fetch := func(ctx context.Context, key string) (tokenstore.Token, error) {
		fmt.Printf("%s%d\n", khMarker, time.Now().UnixNano())
		<-ctx.Done() // WeChat never answers before the kill
		return tokenstore.Token{}, ctx.Err()
	}
	m := mustManager(tokenstore.NewManager(st, fetch, tokenstore.WithMargin(2*time.Hour), tokenstore.WithLockLease(khLease),
		tokenstore.WithFetchTimeout(time.Minute)))
	_, err = m.Token(context.Background(), khKey)
	t.Fatalf("the fetch returned before the kill: %v", err)
}
