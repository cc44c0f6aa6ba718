// Package faultproxy is a TCP proxy for tests that puts a network fault between a client and a real
// server (MariaDB, PostgreSQL, Redis) on loopback, for that client alone: the server and every other
// client stay up.
//
// Two faults:
//
//   - Down / Up: the server goes away (every connection through the proxy is cut, new ones are
//     refused) and comes back.
//   - LoseReply: an ambiguous write. The next request that contains a marker is forwarded to the
//     server; the server executes it and answers, but the answer never reaches the client: the proxy
//     swallows it and cuts that connection. The client sees a broken connection (go-sql-driver:
//     "invalid connection", pgx: "unexpected EOF", go-redis: EOF) although the write was applied.
//
// The marker is matched on the raw bytes the client sends, so choose bytes that the request you want
// to lose carries and no earlier request does. A value being written is the best marker: with
// server-side prepared statements (go-sql-driver's default, pgx's extended protocol) the SQL text
// travels when the statement is prepared, but the values travel with each execution. To lose the
// answer to a transaction's COMMIT, the marker is "COMMIT" for go-sql-driver and "commit" for pgx.
//
// A typical test of a write whose answer is lost, then settled by a read:
//
//	db, px := faultproxy.OpenSQL(t, "mysql", os.Getenv("WXOPEN_MYSQL_DSN")) // or "pgx"
//	store, _ := sqlstore.New(db, sqlstore.WithTable(table))
//	cut := px.LoseReply("RT2-" + unique)
//	ok, err := store.CompareAndSwap(ctx, key, rt1, tokenstore.Token{Value: "RT2-" + unique})
//	<-cut.Done() // the server answered and the proxy cut the connection
//	// err != nil (never ok == false); a read through the same pool shows what was committed
//
// For Redis: px := faultproxy.New(t, addr), then redis.NewClient(&redis.Options{Addr: px.Addr()}).
//
// The reply is swallowed until the server has been quiet for Settle (the whole answer, however many
// packets), then the connection is cut, so a test that waits on Done knows the server finished the
// request before it reads.
package faultproxy

import (
	"bytes"
	"database/sql"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// maxMarker is the longest marker found across the boundary of two reads.
const maxMarker = 1024

// Settle is how long the server must stay quiet, after it starts answering a request whose reply is
// being lost, before the proxy cuts the connection.
const Settle = 20 * time.Millisecond

// Proxy forwards loopback TCP connections to one server. It is safe for concurrent use.
type Proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	isDown bool
	conns  map[net.Conn]struct{}
	armed  *Cut
	wg     sync.WaitGroup
}

// New starts a proxy to target (host:port) on 127.0.0.1 and stops it when tb ends.
func New(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("faultproxy: listen: %v", err)
	}
	p := &Proxy{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(func() {
		_ = ln.Close()
		p.Down()
		p.wg.Wait()
	})
	return p
}

// OpenSQL opens a *sql.DB on dsn whose connections go through a new Proxy, for driver "mysql"
// (go-sql-driver, a TCP DSN) or "pgx" (pgx/v5/stdlib, a URL or key=value DSN). The pool is closed
// when tb ends. It fails tb if the database does not answer a ping.
func OpenSQL(tb testing.TB, driver, dsn string) (*sql.DB, *Proxy) {
	tb.Helper()
	var (
		db *sql.DB
		p  *Proxy
	)
	switch driver {
	case "mysql":
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			tb.Fatalf("faultproxy: %v", err)
		}
		if cfg.Net != "tcp" {
			tb.Fatalf("faultproxy: the DSN must use tcp, not %q", cfg.Net)
		}
		p = New(tb, cfg.Addr)
		cfg.Addr = p.Addr()
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			tb.Fatalf("faultproxy: %v", err)
		}
		db = sql.OpenDB(conn)
	case "pgx":
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			tb.Fatalf("faultproxy: %v", err)
		}
		p = New(tb, net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))))
		host, port, _ := net.SplitHostPort(p.Addr())
		n, _ := strconv.ParseUint(port, 10, 16)
		cfg.Host, cfg.Port, cfg.Fallbacks = host, uint16(n), nil
		db = stdlib.OpenDB(*cfg)
	default:
		tb.Fatalf("faultproxy: driver %q: want mysql or pgx", driver)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.Ping(); err != nil {
		tb.Fatalf("faultproxy: ping through the proxy: %v", err)
	}
	return db, p
}

// Addr is the proxy's address (127.0.0.1:port), to give the client instead of the server's.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Down cuts every connection and refuses new ones until Up. It disarms a pending LoseReply.
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isDown = true
	p.armed = nil
	for c := range p.conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// Up lets connections through again.
func (p *Proxy) Up() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isDown = false
}

// Cut is a LoseReply that is armed or has happened.
type Cut struct {
	marker []byte
	once   sync.Once
	done   chan struct{}
}

// Done is closed once the reply has been swallowed and the connection cut.
func (c *Cut) Done() <-chan struct{} { return c.done }

// Fired reports whether the cut has happened.
func (c *Cut) Fired() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *Cut) fire() { c.once.Do(func() { close(c.done) }) }

// LoseReply arms a one-shot fault: the next request from any client connection whose bytes contain
// marker is forwarded to the server, and the server's answer is swallowed and that connection cut (see
// the package documentation). It replaces a LoseReply that has not fired yet. Other connections are
// not affected, and the proxy stays up: the client's next connection works.
func (p *Proxy) LoseReply(marker string) *Cut {
	if marker == "" || len(marker) > maxMarker {
		panic("faultproxy: LoseReply needs a marker of 1 to 1024 bytes")
	}
	c := &Cut{marker: []byte(marker), done: make(chan struct{})}
	p.mu.Lock()
	p.armed = c
	p.mu.Unlock()
	return c
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			_ = c.Close()
			continue
		}
		p.wg.Add(1)
		go p.forward(c)
	}
}

// track registers a connection, unless the proxy is down.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.isDown {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) drop(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	_ = c.Close()
}

// take returns the armed cut if chunk contains its marker, or if the marker straddles the end of the
// previous chunk (tail) and the start of this one, and disarms it.
func (p *Proxy) take(tail, chunk []byte) *Cut {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.armed
	if c == nil {
		return nil
	}
	found := bytes.Contains(chunk, c.marker)
	if !found && len(c.marker) > 1 {
		// Only the last len(marker)-1 bytes of tail can start a marker that ends in chunk.
		tail = tail[max(0, len(tail)-(len(c.marker)-1)):]
		joined := append(append([]byte(nil), tail...), chunk[:min(len(chunk), len(c.marker)-1)]...)
		found = bytes.Contains(joined, c.marker)
	}
	if !found {
		return nil
	}
	p.armed = nil
	return c
}

func (p *Proxy) forward(client net.Conn) {
	defer p.wg.Done()
	defer p.drop(client)
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	if !p.track(server) {
		_ = server.Close()
		return
	}
	defer p.drop(server)

	var (
		mu     sync.Mutex
		losing *Cut // set when a request whose answer is to be lost has gone to the server
	)
	done := make(chan struct{}, 2)
	go func() { // client → server, watching for the marker
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32<<10)
		var tail []byte
		for {
			n, err := client.Read(buf)
			if n > 0 {
				chunk := buf[:n]
				if c := p.take(tail, chunk); c != nil {
					mu.Lock()
					losing = c
					mu.Unlock()
				}
				if _, werr := server.Write(chunk); werr != nil {
					return
				}
				tail = append(tail[:0], chunk[max(0, n-maxMarker):]...)
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { // server → client, swallowing the answer to a lost request
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32<<10)
		for {
			n, err := server.Read(buf)
			mu.Lock()
			c := losing
			mu.Unlock()
			if c != nil && n > 0 {
				// The server has answered: swallow the rest of the answer, then cut.
				for {
					_ = server.SetReadDeadline(time.Now().Add(Settle))
					if _, err := server.Read(buf); err != nil {
						break
					}
				}
				_ = client.Close()
				_ = server.Close()
				c.fire()
				return
			}
			if n > 0 {
				if _, werr := client.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	<-done // either side ended: end both
	p.drop(server)
	p.drop(client)
	<-done
}
