package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestServer logs a user in, connects, subscribes to their order (and is refused another user's),
// receives the status the order service publishes, and is disconnected when the server stops.
func TestServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln, "", io.Discard) }()
	base := "http://" + ln.Addr().String()
	shop := merchants[0]

	code := call(t, "GET", base+"/demo/code?appid="+shop+"&openid=oALICE", http.StatusOK)
	var login struct{ Token string }
	if err := json.Unmarshal([]byte(call(t, "POST", base+"/session/login/"+code+"?appid="+shop, http.StatusOK)), &login); err != nil || login.Token == "" {
		t.Fatalf("login: %v %q", err, login.Token)
	}

	ws, _, err := websocket.DefaultDialer.Dial("ws://"+ln.Addr().String()+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	read := func() string {
		t.Helper()
		for {
			ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, m, err := ws.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if s := string(m); s != "2" { // skip Engine.IO pings
				return s
			}
		}
	}
	write := func(s string) {
		t.Helper()
		if err := ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	read() // Engine.IO open
	write(`40{"token":"` + login.Token + `"}`)
	if m := read(); !strings.HasPrefix(m, "40{") {
		t.Fatalf("connect: %s", m)
	}
	write(`421["subscribe","order:oALICE-7"]`)
	if m := read(); m != `431[{"ok":true}]` {
		t.Fatalf("own order: %s", m)
	}
	write(`422["subscribe","order:oBOB-3"]`)
	if m := read(); !strings.HasPrefix(m, `432[{"ok":false,"error":"forbidden"`) {
		t.Fatalf("another user's order: %s", m)
	}

	call(t, "POST", base+"/orders/oALICE-7/status?appid="+shop+"&status=cooking", http.StatusNoContent)
	if m := read(); m != `42["order.status",{"status":"cooking"},{"topic":"order:oALICE-7"}]` {
		t.Fatalf("event: %s", m)
	}
	call(t, "POST", base+"/orders/x/status?appid=&status=cooking", http.StatusBadRequest)

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			break // drained: the transport was closed
		}
	}
}

func call(t *testing.T, method, url string, want int) string {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s %s", method, url, resp.Status, body)
	}
	return string(body)
}
