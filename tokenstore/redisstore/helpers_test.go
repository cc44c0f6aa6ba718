package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/redisstore"
)

const howToRun = "redisstore tests need a Redis server: run `source .ci/redis.sh` from the repository root " +
	"(installs redis-server if missing, starts it on 127.0.0.1:6390, exports WXOPEN_REDIS_ADDR), " +
	"or start redis-server yourself and export WXOPEN_REDIS_ADDR=host:port"

// redisAddr returns the shared test server's address: skipped without one outside CI, fatal inside CI.
func redisAddr(tb testing.TB) string {
	tb.Helper()
	addr := os.Getenv("WXOPEN_REDIS_ADDR")
	if addr == "" {
		if os.Getenv("CI") != "" {
			tb.Fatal("WXOPEN_REDIS_ADDR must be set in CI (source .ci/redis.sh)")
		}
		tb.Skip(howToRun)
	}
	return addr
}

// newClient returns a client of the shared server (closed at the end of the test) and the hook that
// counts the commands it sends.
func newClient(tb testing.TB) (*redis.Client, *countHook) {
	tb.Helper()
	return clientFor(tb, redisAddr(tb))
}

func clientFor(tb testing.TB, addr string) (*redis.Client, *countHook) {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		tb.Fatalf("redis at %s (WXOPEN_REDIS_ADDR) does not answer: %v", addr, err)
	}
	h := &countHook{}
	c.AddHook(h)
	tb.Cleanup(func() { c.Close() })
	return c, h
}

// newPrefix returns a random key prefix, so that tests run in parallel and again on one server, and
// removes its keys at the end of the test.
func newPrefix(tb testing.TB, c redis.UniversalClient) string {
	tb.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	p := "wxopentest:" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() { deleteKeys(c, p+"*") })
	return p
}

func deleteKeys(c redis.UniversalClient, pattern string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	iter := c.Scan(ctx, 0, pattern, 100).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
}

// newStore returns a Store over the shared server with its own prefix, its client and the prefix.
func newStore(tb testing.TB, opts ...redisstore.Option) (*redisstore.Store, *redis.Client, string) {
	tb.Helper()
	c, _ := newClient(tb)
	p := newPrefix(tb, c)
	st, err := redisstore.New(c, append([]redisstore.Option{redisstore.WithKeyPrefix(p)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return st, c, p
}

// countHook counts the commands and dials of a client.
type countHook struct {
	cmds, dials atomic.Int64
}

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		h.dials.Add(1)
		return next(ctx, network, addr)
	}
}

func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.cmds.Add(1)
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.cmds.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// seqFetcher issues <key>-tok-1, <key>-tok-2, … valid for life, counting calls.
type seqFetcher struct {
	n     atomic.Int64
	life  time.Duration
	delay time.Duration
}

func (f *seqFetcher) fetch(ctx context.Context, key string) (tokenstore.Token, error) {
	n := f.n.Add(1)
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return tokenstore.Token{}, ctx.Err()
		}
	}
	return tokenstore.Token{Value: fmt.Sprintf("%s-tok-%d", key, n), ExpiresAt: time.Now().Add(f.life)}, nil
}

// server is a redis-server of the test's own, on a free loopback port, for tests that stop it or change
// its configuration; the shared server stays untouched.
type server struct {
	tb   testing.TB
	port int
	args []string
	dir  string
	cmd  *exec.Cmd
}

func (s *server) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// startServer starts a private redis-server with extra arguments. Without the redis-server binary the
// test is skipped outside CI and fails inside CI.
func startServer(tb testing.TB, args ...string) *server {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatal("redis-server must be installed in CI (source .ci/redis.sh)")
		}
		tb.Skip("redis-server not installed; " + howToRun)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &server{tb: tb, port: ln.Addr().(*net.TCPAddr).Port, args: args, dir: tb.TempDir()}
	ln.Close()
	s.start()
	tb.Cleanup(s.stop)
	return s
}

func (s *server) start() {
	s.tb.Helper()
	args := append([]string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", s.dir, "--logfile", filepath.Join(s.dir, "redis.log")}, s.args...)
	s.cmd = exec.Command("redis-server", args...)
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatalf("start redis-server: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", s.addr(), 100*time.Millisecond)
		if err == nil {
			_, werr := conn.Write([]byte("PING\r\n"))
			buf := make([]byte, 7)
			conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			n, rerr := conn.Read(buf)
			conn.Close()
			if werr == nil && rerr == nil && string(buf[:n]) == "+PONG\r\n" {
				return
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.stop()
			s.tb.Fatalf("redis-server on %s did not answer PING within 5s; log:\n%s", s.addr(), log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the server, as a crash would.
func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
