package realtime_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxopen-go/wxopen/realtime"
)

const redisHowTo = "the fan-out tests need Redis: run `source .ci/redis.sh` from the repository root " +
	"(starts redis-server on 127.0.0.1:6390 and exports WXOPEN_REDIS_ADDR)"

// redisClient returns a client of the shared server at WXOPEN_REDIS_ADDR: skipped without one outside
// CI, fatal inside CI.
func redisClient(tb testing.TB) *redis.Client {
	tb.Helper()
	addr := os.Getenv("WXOPEN_REDIS_ADDR")
	if addr == "" {
		if os.Getenv("CI") != "" {
			tb.Fatal("WXOPEN_REDIS_ADDR must be set in CI (source .ci/redis.sh)")
		}
		tb.Skip(redisHowTo)
	}
	return dialRedis(tb, addr)
}

func dialRedis(tb testing.TB, addr string) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		tb.Fatalf("redis at %s does not answer: %v", addr, err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// testChannel is a channel of the test's own, so that tests and runs sharing the server do not mix.
func testChannel(tb testing.TB) string {
	var b [8]byte
	rand.Read(b[:])
	return "wxopentest:realtime:" + hex.EncodeToString(b[:])
}

// TestFanoutAcrossInstances publishes on one hub and receives on another, for every kind of target;
// the publishing hub's own subscriber gets the message once (not again from Redis).
func TestFanoutAcrossInstances(t *testing.T) {
	rdb := redisClient(t)
	channel := testChannel(t)
	ss := newFakeSessions()
	one, base1 := startHub(t, ss, realtime.WithRedis(rdb), realtime.WithChannel(channel))
	two, base2 := startHub(t, ss, realtime.WithRedis(rdb), realtime.WithChannel(channel))
	waitFor(t, 5*time.Second, "both hubs subscribed", func() bool { return one.Stats().Redis && two.Stats().Redis })

	far := connectV4(t, base1, ss.add(appA, "o-far", time.Hour))
	near := connectV4(t, base2, ss.add(appA, "o-near", time.Hour))
	other := connectV4(t, base1, ss.add(appB, "o-far", time.Hour))
	for _, c := range []*wsClient{far, near, other} {
		c.emitAck("subscribe", "orders")
		c.emitAck("join", "kitchen")
	}
	ctx := context.Background()
	for _, tg := range []realtime.Target{realtime.Topic(appA, "orders"), realtime.Room(appA, "kitchen"), realtime.User(appA, "o-far")} {
		if err := two.Publish(ctx, tg, "e", tg.Kind.String()); err != nil {
			t.Fatal(err)
		}
		if ev := far.nextEvent(wait); string(ev.Args[0]) != `"`+tg.Kind.String()+`"` {
			t.Fatalf("%v: the other instance's subscriber got %s", tg, ev.Args)
		}
	}
	for _, want := range []string{`"topic"`, `"room"`} {
		if ev := near.nextEvent(wait); string(ev.Args[0]) != want {
			t.Fatalf("local subscriber got %s, want %s", ev.Args[0], want)
		}
	}
	near.noEvent(100 * time.Millisecond) // once only: its own publish coming back from Redis is skipped
	other.noEvent(10 * time.Millisecond) // merchant B: nothing
}

// TestFanoutSurvivesRedisLoss stops the Redis server under two hubs: each keeps serving its own
// subscribers (Publish says the message stayed local), then both subscribe again when Redis is back.
func TestFanoutSurvivesRedisLoss(t *testing.T) {
	srv := startRedis(t)
	ss := newFakeSessions()
	one, base1 := startHub(t, ss, realtime.WithRedis(dialRedis(t, srv.addr())))
	two, base2 := startHub(t, ss, realtime.WithRedis(dialRedis(t, srv.addr())))
	waitFor(t, 5*time.Second, "both hubs subscribed", func() bool { return one.Stats().Redis && two.Stats().Redis })
	far := connectV4(t, base1, ss.add(appA, "o-far", time.Hour))
	near := connectV4(t, base2, ss.add(appA, "o-near", time.Hour))
	far.emitAck("subscribe", "orders")
	near.emitAck("subscribe", "orders")
	ctx := context.Background()

	srv.stop()
	waitFor(t, 5*time.Second, "the hubs to notice", func() bool { return !one.Stats().Redis && !two.Stats().Redis })
	err := two.Publish(ctx, realtime.Topic(appA, "orders"), "e", "while down")
	if !errors.Is(err, realtime.ErrLocalOnly) {
		t.Fatalf("publish without Redis: %v, want ErrLocalOnly", err)
	}
	if ev := near.nextEvent(wait); string(ev.Args[0]) != `"while down"` {
		t.Fatalf("local subscriber got %s", ev.Args[0])
	}
	far.noEvent(50 * time.Millisecond)

	srv.start()
	waitFor(t, 15*time.Second, "both hubs subscribed again", func() bool { return one.Stats().Redis && two.Stats().Redis })
	if err := two.Publish(ctx, realtime.Topic(appA, "orders"), "e", "back"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*wsClient{far, near} {
		if ev := c.nextEvent(wait); string(ev.Args[0]) != `"back"` {
			t.Fatalf("after Redis came back got %s", ev.Args[0])
		}
	}
}

// redisServer is a redis-server of the test's own on a free loopback port, to stop and start again.
type redisServer struct {
	tb   testing.TB
	port int
	dir  string
	cmd  *exec.Cmd
}

func (s *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func startRedis(tb testing.TB) *redisServer {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatal("redis-server must be installed in CI (source .ci/redis.sh)")
		}
		tb.Skip("redis-server not installed; " + redisHowTo)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &redisServer{tb: tb, port: ln.Addr().(*net.TCPAddr).Port, dir: tb.TempDir()}
	ln.Close()
	s.start()
	tb.Cleanup(s.stop)
	return s
}

func (s *redisServer) start() {
	s.tb.Helper()
	s.cmd = exec.Command("redis-server", "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", s.dir, "--logfile", filepath.Join(s.dir, "redis.log"))
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatalf("start redis-server: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1})
		err := c.Ping(context.Background()).Err()
		c.Close()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.stop()
			s.tb.Fatalf("redis-server on %s did not answer within 5s: %v\n%s", s.addr(), err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the server, as a crash would.
func (s *redisServer) stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// TestDisconnectAcrossInstances ends a user's connections on both hubs (a revoked session), and no
// one else's.
func TestDisconnectAcrossInstances(t *testing.T) {
	rdb := redisClient(t)
	channel := testChannel(t)
	ss := newFakeSessions()
	one, base1 := startHub(t, ss, realtime.WithRedis(rdb), realtime.WithChannel(channel))
	two, base2 := startHub(t, ss, realtime.WithRedis(rdb), realtime.WithChannel(channel))
	waitFor(t, 5*time.Second, "both hubs subscribed", func() bool { return one.Stats().Redis && two.Stats().Redis })
	phone := connectV4(t, base1, ss.add(appA, "o-gone", time.Hour))
	pad := connectV4(t, base2, ss.add(appA, "o-gone", time.Hour))
	sameOpenIDOtherShop := connectV4(t, base1, ss.add(appB, "o-gone", time.Hour))
	if err := two.Disconnect(context.Background(), realtime.User(appA, "o-gone")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*wsClient{phone, pad} {
		ev := c.nextEvent(wait)
		if ev.Name != "realtime:closed" || decode[map[string]string](t, ev.Args[0])["code"] != "disconnected" {
			t.Fatalf("got %s %s, want realtime:closed disconnected", ev.Name, ev.Args)
		}
		if ev := c.nextEvent(wait); ev.Name != "(disconnect)" {
			t.Fatalf("got %s, want a server disconnect", ev.Name)
		}
	}
	sameOpenIDOtherShop.noEvent(100 * time.Millisecond)
	if a := sameOpenIDOtherShop.emitAck("subscribe", "x"); !a.OK {
		t.Fatal(a)
	}
	if err := one.Disconnect(context.Background(), realtime.Room(appA, "")); err == nil {
		t.Error("a target without a name was accepted")
	}
}
