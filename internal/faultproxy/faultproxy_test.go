package faultproxy_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/internal/faultproxy"
)

// lineServer answers every line with "ok <line>" and records the lines it received.
type lineServer struct {
	ln   net.Listener
	mu   sync.Mutex
	seen []string
}

func startLineServer(t *testing.T) *lineServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &lineServer{ln: ln}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewScanner(c)
				for r.Scan() {
					s.mu.Lock()
					s.seen = append(s.seen, r.Text())
					s.mu.Unlock()
					if _, err := io.WriteString(c, "ok "+r.Text()+"\n"); err != nil {
						return
					}
				}
			}()
		}
	}()
	return s
}

func (s *lineServer) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

type client struct {
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &client{c: c, r: bufio.NewReader(c)}
}

func (c *client) ask(line string) (string, error) {
	_ = c.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c.c, line+"\n"); err != nil {
		return "", err
	}
	s, err := c.r.ReadString('\n')
	return strings.TrimSuffix(s, "\n"), err
}

func TestForwards(t *testing.T) {
	srv := startLineServer(t)
	px := faultproxy.New(t, srv.ln.Addr().String())
	c := dial(t, px.Addr())
	got, err := c.ask("hello")
	require.NoError(t, err)
	assert.Equal(t, "ok hello", got)
}

func TestDownUp(t *testing.T) {
	srv := startLineServer(t)
	px := faultproxy.New(t, srv.ln.Addr().String())
	c := dial(t, px.Addr())
	_, err := c.ask("one")
	require.NoError(t, err)
	px.Down()
	_, err = c.ask("two")
	require.Error(t, err, "a connection survived Down")
	_, err = dial(t, px.Addr()).ask("three")
	require.Error(t, err, "a new connection went through while down")
	px.Up()
	got, err := dial(t, px.Addr()).ask("four")
	require.NoError(t, err)
	assert.Equal(t, "ok four", got)
	assert.Equal(t, []string{"one", "four"}, srv.received())
}

// LoseReply: the request reaches the server, its answer does not reach the client, and only the
// marked request on the one connection is affected.
func TestLoseReply(t *testing.T) {
	srv := startLineServer(t)
	px := faultproxy.New(t, srv.ln.Addr().String())
	other := dial(t, px.Addr())
	c := dial(t, px.Addr())
	cut := px.LoseReply("MARK-42")
	_, err := c.ask("before")
	require.NoError(t, err)
	assert.False(t, cut.Fired())

	_, err = c.ask("write MARK-42")
	require.Error(t, err, "the answer to the marked request reached the client")
	assert.True(t, errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset"), "%v", err)
	select {
	case <-cut.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed")
	}
	assert.Equal(t, []string{"before", "write MARK-42"}, srv.received(), "the server got the marked request")

	// One shot: the other connection, and new ones, carry the marker untouched.
	got, err := other.ask("again MARK-42")
	require.NoError(t, err)
	assert.Equal(t, "ok again MARK-42", got)
	got, err = dial(t, px.Addr()).ask("new")
	require.NoError(t, err)
	assert.Equal(t, "ok new", got)
}

// A marker split across two writes is still found.
func TestLoseReplySplitMarker(t *testing.T) {
	srv := startLineServer(t)
	px := faultproxy.New(t, srv.ln.Addr().String())
	c := dial(t, px.Addr())
	cut := px.LoseReply("SPLIT-MARKER")
	_, err := io.WriteString(c.c, "x SPLIT-")
	require.NoError(t, err)
	time.Sleep(20 * time.Millisecond)
	_, err = io.WriteString(c.c, "MARKER\n")
	require.NoError(t, err)
	_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c.r.ReadString('\n')
	require.Error(t, err)
	<-cut.Done()
}

// A marker that went by before LoseReply was armed does not trigger it from the previous read's tail.
func TestLoseReplyIgnoresEarlierMarker(t *testing.T) {
	srv := startLineServer(t)
	px := faultproxy.New(t, srv.ln.Addr().String())
	c := dial(t, px.Addr())
	_, err := c.ask("COMMIT")
	require.NoError(t, err)
	cut := px.LoseReply("COMMIT")
	got, err := c.ask("BEGIN")
	require.NoError(t, err, "the marker of an earlier request fired the cut")
	assert.Equal(t, "ok BEGIN", got)
	_, err = c.ask("COMMIT")
	require.Error(t, err)
	<-cut.Done()
}
