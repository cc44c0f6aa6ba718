// Command server is the realtime side of a restaurant platform: the merchants' mini programs keep one
// socket.io connection each (examples/miniprogram shows the mini program side) and the platform
// publishes order and table updates to them.
//
// It runs against wxtest, the WeChat emulator, started in-process, with two merchants' mini programs
// authorised: users log in through the session package's handlers, and a demo endpoint hands out the
// wx.login codes the emulator accepts. Nothing to configure, no network:
//
//	go run ./examples/server                 # from the realtime folder; listens on 127.0.0.1:8090
//
//	POST /session/login/{code}?appid=…       session login (the mini program's Referer names its appid)
//	GET  /socket.io/                         the hub: auth {token} (socket.io v4) or ?token= (Engine.IO 3)
//	POST /orders/{id}/status?appid=…&status=…  the platform's order service: publishes to topic order:{id}
//	POST /tables/{n}/call?appid=…&text=…     publishes to room table:{n}
//	GET  /demo/code?appid=…&openid=…         a login code of the emulator, as wx.login would give
//
// With WXOPEN_REDIS_ADDR set, sessions are kept in Redis and publishes fan out through it, so several
// copies of the server (WXOPEN_LISTEN=127.0.0.1:8091 for the second) serve one set of users. SIGINT or
// SIGTERM drains the connections (their clients reconnect to another copy) and stops.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/realtime"
	"github.com/wxopen-go/wxopen/session"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/redisstore"
	"github.com/wxopen-go/wxopen/wxtest"
)

// The two merchants' mini programs of the demo.
var merchants = []string{"wx1111111111111111", "wx2222222222222222"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	addr := os.Getenv("WXOPEN_LISTEN")
	if addr == "" {
		addr = "127.0.0.1:8090"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := run(ctx, ln, os.Getenv("WXOPEN_REDIS_ADDR"), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run serves on ln until ctx ends, then drains. redisAddr may be empty (one instance).
func run(ctx context.Context, ln net.Listener, redisAddr string, out io.Writer) error {
	emu, platform, stopEmu, err := emulatedPlatform(ctx)
	if err != nil {
		return err
	}
	defer stopEmu()

	var store tokenstore.Store = tokenstore.NewMemoryStore()
	hubOpts := []realtime.Option{realtime.WithAuthorizer(authorize)}
	if redisAddr != "" {
		rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
		defer rdb.Close()
		if store, err = redisstore.New(rdb); err != nil {
			return err
		}
		hubOpts = append(hubOpts, realtime.WithRedis(rdb))
	}
	sessions, err := session.New(store, session.PlatformLogin(platform))
	if err != nil {
		return err
	}
	hub, err := realtime.New(sessions, hubOpts...)
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	sessions.Mount(mux, "/session", nil)
	mux.Handle(realtime.DefaultPath, hub)
	mux.HandleFunc("POST /orders/{id}/status", func(w http.ResponseWriter, r *http.Request) {
		publish(w, r, hub, realtime.Topic(r.URL.Query().Get("appid"), "order:"+r.PathValue("id")), "order.status",
			map[string]string{"status": r.URL.Query().Get("status")})
	})
	mux.HandleFunc("POST /tables/{n}/call", func(w http.ResponseWriter, r *http.Request) {
		publish(w, r, hub, realtime.Room(r.URL.Query().Get("appid"), "table:"+r.PathValue("n")), "table.call",
			map[string]string{"text": r.URL.Query().Get("text")})
	})
	mux.HandleFunc("GET /demo/code", func(w http.ResponseWriter, r *http.Request) {
		appID, openID := r.URL.Query().Get("appid"), r.URL.Query().Get("openid")
		if appID == "" || openID == "" {
			http.Error(w, "appid and openid are required", http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, emu.IssueLoginCode(appID, openID))
	})

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "realtime example on http://%s (merchants %v)\n", ln.Addr(), merchants)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(out, "draining")
	drain, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	herr := hub.Shutdown(drain) // WebSocket connections are hijacked: http.Server.Shutdown does not see them
	serr := srv.Shutdown(drain)
	return errors.Join(herr, serr)
}

// authorize lets a user follow only their own orders: topic order:{id} needs the order to be the
// user's (here: ids starting with the user's openid; a real service asks its database).
func authorize(_ context.Context, s *session.Session, t realtime.Target) error {
	const prefix = "order:"
	if t.Kind == realtime.KindTopic && len(t.Name) > len(prefix) && t.Name[:len(prefix)] == prefix {
		if id := t.Name[len(prefix):]; len(id) < len(s.OpenID) || id[:len(s.OpenID)] != s.OpenID {
			return realtime.ErrForbidden
		}
	}
	return nil
}

// publish answers 204 once published, 400 for a bad target, 502 when only this instance got it.
func publish(w http.ResponseWriter, r *http.Request, hub *realtime.Hub, to realtime.Target, event string, data any) {
	err := hub.Publish(r.Context(), to, event, data)
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, realtime.ErrLocalOnly):
		slog.Warn("published on this instance only", "target", to.String(), "err", err)
		http.Error(w, "published on this instance only", http.StatusBadGateway)
	default:
		http.Error(w, err.Error(), http.StatusBadRequest)
	}
}

// emulatedPlatform starts the WeChat emulator with the demo merchants authorised and returns a
// platform using it.
func emulatedPlatform(ctx context.Context) (*wxtest.Server, *wxopen.Platform, func(), error) {
	emu := wxtest.NewServer()
	app := emu.Component()
	p, err := wxopen.New(wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token,
		EncodingAESKey: app.EncodingAESKey}, wxopen.WithBaseURL(emu.URL))
	if err != nil {
		emu.Close()
		return nil, nil, nil, err
	}
	pushes, err := p.Handler(component.HandlerConfig{Now: emu.Now})
	if err != nil {
		emu.Close()
		return nil, nil, nil, err
	}
	events := httptest.NewServer(pushes)
	stop := func() { events.Close(); emu.Close() }
	emu.SetEventURLs(events.URL, "")
	if _, err := emu.PushVerifyTicket(ctx); err != nil {
		stop()
		return nil, nil, nil, err
	}
	for _, shop := range merchants {
		emu.AddAuthorizer(wxtest.Authorizer{AppID: shop, MiniProgram: true})
		if _, err := emu.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: shop}); err != nil {
			stop()
			return nil, nil, nil, err
		}
	}
	return emu, p, stop, nil
}
