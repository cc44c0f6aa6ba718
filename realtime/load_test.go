package realtime_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/wxopen-go/wxopen/realtime"
	"github.com/wxopen-go/wxopen/session"
)

// The load benchmarks run the hub in a child process (this test binary, started with envLoadServer)
// so that its memory is measured alone and each process stays under the machine's 20,000 open files.
//
//	cd realtime && go test -run '^$' -bench 'Connections|Fanout|CrossInstance' -benchtime 1x -count 1
const envLoadServer = "WXOPEN_REALTIME_LOADSERVER"

// loadConns is how many connections the load benchmarks hold (WXOPEN_REALTIME_CONNS overrides it).
func loadConns() int {
	if n, err := strconv.Atoi(os.Getenv("WXOPEN_REALTIME_CONNS")); err == nil && n > 0 {
		return n
	}
	return 10000
}

func TestMain(m *testing.M) {
	if os.Getenv(envLoadServer) != "" {
		os.Exit(loadServer())
	}
	os.Exit(m.Run())
}

// anySession accepts every token as the user of that name at appA (the load server's sessions).
type anySession struct{}

func (anySession) Validate(_ context.Context, token string) (*session.Session, error) {
	return &session.Session{Token: token, AppID: appA, OpenID: token, ExpiresAt: time.Now().Add(time.Hour)}, nil
}

// loadServer serves a hub on a loopback port, prints "addr=…" and serves /publish and /mem until its
// standard input closes.
func loadServer() int {
	var opts []realtime.Option
	if addr := os.Getenv("WXOPEN_REDIS_ADDR"); addr != "" && os.Getenv(envLoadServer) == "redis" {
		opts = append(opts, realtime.WithRedis(redis.NewClient(&redis.Options{Addr: addr})),
			realtime.WithChannel(os.Getenv("WXOPEN_REALTIME_CHANNEL")))
	}
	opts = append(opts, realtime.WithLogger(quietLogger()),
		realtime.WithLimits(realtime.Limits{EventsPerSecond: 1e6, EventBurst: 1e6}))
	hub, err := realtime.New(anySession{}, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mux := http.NewServeMux()
	mux.Handle(realtime.DefaultPath, hub)
	mux.HandleFunc("/publish", func(w http.ResponseWriter, r *http.Request) {
		err := hub.Publish(r.Context(), realtime.Topic(appA, r.URL.Query().Get("topic")), "tick", r.URL.Query().Get("data"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("/heap", func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		pprof.Lookup("heap").WriteTo(w, 0)
	})
	mux.HandleFunc("/cpu", func(w http.ResponseWriter, r *http.Request) {
		secs, _ := strconv.Atoi(r.URL.Query().Get("seconds"))
		pprof.StartCPUProfile(w)
		time.Sleep(time.Duration(secs) * time.Second)
		pprof.StopCPUProfile()
	})
	mux.HandleFunc("/mem", func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		json.NewEncoder(w).Encode(map[string]uint64{"heap": ms.HeapInuse, "stack": ms.StackInuse, "sys": ms.Sys,
			"goroutines": uint64(runtime.NumGoroutine()), "conns": uint64(hub.Stats().Connections), "redis": b2u(hub.Stats().Redis)})
	})
	srv := &http.Server{Addr: "127.0.0.1:0", Handler: mux}
	ln, err := netListen()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go srv.Serve(ln)
	fmt.Printf("addr=%s\n", ln.Addr())
	bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes our input
	return 0
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// loadProc is a running load server.
type loadProc struct {
	cmd  *exec.Cmd
	base string
}

func startLoadServer(b *testing.B, mode string, env ...string) *loadProc {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), envLoadServer+"="+mode), env...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "addr=") {
		cmd.Process.Kill()
		b.Fatalf("load server: %q %v", line, err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	return &loadProc{cmd: cmd, base: "http://" + strings.TrimSpace(strings.TrimPrefix(line, "addr="))}
}

// rss is the load server's resident memory in bytes.
func (p *loadProc) rss(b *testing.B) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

func (p *loadProc) mem(b *testing.B) map[string]uint64 {
	resp, err := http.Get(p.base + "/mem")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]uint64
	json.NewDecoder(resp.Body).Decode(&m)
	return m
}

func (p *loadProc) publish(b *testing.B, topic, data string) {
	resp, err := http.Post(p.base+"/publish?topic="+url.QueryEscape(topic)+"&data="+url.QueryEscape(data), "", nil)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("publish: %s", resp.Status)
	}
}

// loadClient is a bare connection that counts the events it receives.
type loadClient struct{ ws *websocket.Conn }

// crowd is many loadClients subscribed to one topic; got counts deliveries of each publish.
type crowd struct {
	clients []*loadClient
	got     atomic.Int64
	all     chan struct{} // receives when got reaches len(clients)
}

// connectCrowd connects n clients, each subscribed to topic, with 64 dialers in parallel.
func connectCrowd(b *testing.B, base string, n int, topic string) *crowd {
	b.Helper()
	c := &crowd{clients: make([]*loadClient, n), all: make(chan struct{}, 1)}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				lc, err := dialLoad(base, "u"+strconv.Itoa(i), topic)
				if err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
				c.clients[i] = lc
				go c.read(lc)
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		for _, lc := range c.clients {
			lc.ws.Close()
		}
	})
	return c
}

func dialLoad(base, user, topic string) (*loadClient, error) {
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 512, WriteBufferSize: 512}
	ws, _, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		return nil, err
	}
	expect := func(prefix string) error {
		ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, m, err := ws.ReadMessage()
		if err != nil {
			return err
		}
		if !strings.HasPrefix(string(m), prefix) {
			return fmt.Errorf("got %q, want %s…", m, prefix)
		}
		return nil
	}
	steps := []struct{ send, want string }{
		{"", "0{"},
		{`40{"token":"` + user + `"}`, "40{"},
		{`421["subscribe","` + topic + `"]`, `431[{"ok":true}]`},
	}
	for _, s := range steps {
		if s.send != "" {
			if err := ws.WriteMessage(websocket.TextMessage, []byte(s.send)); err != nil {
				ws.Close()
				return nil, err
			}
		}
		if err := expect(s.want); err != nil {
			ws.Close()
			return nil, err
		}
	}
	ws.SetReadDeadline(time.Time{})
	return &loadClient{ws: ws}, nil
}

func (c *crowd) read(lc *loadClient) {
	for {
		_, m, err := lc.ws.ReadMessage()
		if err != nil {
			return
		}
		switch {
		case len(m) == 1 && m[0] == '2':
			lc.ws.WriteMessage(websocket.TextMessage, []byte("3"))
		case len(m) > 2 && m[0] == '4' && m[1] == '2':
			if c.got.Add(1) == int64(len(c.clients)) {
				c.all <- struct{}{}
			}
		}
	}
}

// BenchmarkConnections holds loadConns() connections, each subscribed to a topic, on a hub in a child
// process, and reports its resident memory per connection and the connections that fit in a GiB.
func BenchmarkConnections(b *testing.B) {
	n := loadConns()
	for range b.N {
		p := startLoadServer(b, "1")
		p.mem(b)
		base := p.rss(b)
		heap0 := p.mem(b)
		start := time.Now()
		connectCrowd(b, p.base, n, "orders")
		connectTime := time.Since(start)
		time.Sleep(500 * time.Millisecond)
		heap1 := p.mem(b)
		if heap1["conns"] != uint64(n) {
			b.Fatalf("%d connections held, want %d", heap1["conns"], n)
		}
		if path := os.Getenv("WXOPEN_REALTIME_HEAPPROFILE"); path != "" {
			resp, err := http.Get(p.base + "/heap")
			if err == nil {
				f, _ := os.Create(path)
				io.Copy(f, resp.Body)
				f.Close()
				resp.Body.Close()
			}
		}
		perConn := float64(p.rss(b)-base) / float64(n)
		b.ReportMetric(perConn, "RSS-B/conn")
		b.ReportMetric(float64(heap1["heap"]+heap1["stack"]-heap0["heap"]-heap0["stack"])/float64(n), "heap+stack-B/conn")
		b.ReportMetric(float64(1<<30)/perConn, "conns/GiB")
		b.ReportMetric(float64(heap1["goroutines"])/float64(n), "goroutines/conn")
		b.ReportMetric(float64(n)/connectTime.Seconds(), "connects/s")
	}
}

// BenchmarkFanout10k publishes to a topic with loadConns() local subscribers and waits until every one
// of them has the message: ns/op is the fan-out latency, publish to last delivery, with the 10,000
// clients reading in this process on the same cores as the hub; B/op and allocs/op are the clients'.
func BenchmarkFanout10k(b *testing.B) {
	n := loadConns()
	p := startLoadServer(b, "1")
	c := connectCrowd(b, p.base, n, "orders")
	var profiled chan struct{}
	if path := os.Getenv("WXOPEN_REALTIME_CPUPROFILE"); path != "" {
		profiled = make(chan struct{})
		go func() {
			defer close(profiled)
			resp, err := http.Get(p.base + "/cpu?seconds=5")
			if err == nil {
				f, _ := os.Create(path)
				io.Copy(f, resp.Body)
				f.Close()
				resp.Body.Close()
			}
		}()
	}
	b.ResetTimer()
	var publishing time.Duration
	for i := range b.N {
		c.got.Store(0)
		start := time.Now()
		p.publish(b, "orders", strconv.Itoa(i))
		publishing += time.Since(start)
		select {
		case <-c.all:
		case <-time.After(30 * time.Second):
			b.Fatalf("%d of %d delivered after 30s", c.got.Load(), n)
		}
	}
	b.ReportMetric(float64(n), "subscribers")
	// the Publish call itself (the hub hands the frame to every connection's writer), through HTTP
	b.ReportMetric(float64(publishing.Milliseconds())/float64(b.N), "publish-call-ms")
	if profiled != nil {
		<-profiled
	}
}

// BenchmarkCrossInstance publishes on one hub and waits for the subscriber of another hub, both on the
// shared Redis: ns/op is the latency across instances.
func BenchmarkCrossInstance(b *testing.B) {
	rdb := redisClient(b)
	channel := testChannel(b)
	one, base := startHub(b, anySession{}, realtime.WithRedis(rdb), realtime.WithChannel(channel))
	two, _ := startHub(b, anySession{}, realtime.WithRedis(rdb), realtime.WithChannel(channel))
	waitFor(b, 5*time.Second, "both hubs subscribed", func() bool { return one.Stats().Redis && two.Stats().Redis })
	c := &crowd{all: make(chan struct{}, 1)}
	lc, err := dialLoad(base, "far", "orders")
	if err != nil {
		b.Fatal(err)
	}
	c.clients = []*loadClient{lc}
	go c.read(lc)
	defer lc.ws.Close()
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		c.got.Store(0)
		if err := two.Publish(ctx, realtime.Topic(appA, "orders"), "tick", i); err != nil {
			b.Fatal(err)
		}
		select {
		case <-c.all:
		case <-time.After(5 * time.Second):
			b.Fatal("not delivered across instances within 5s")
		}
	}
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
