package realtime_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/realtime"
	"github.com/wxopen-go/wxopen/session"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxtest"
)

// A service serves the hub next to its other handlers and publishes when its data changes.
func ExampleNew() {
	platform := examplePlatform() // the service's *wxopen.Platform
	// the users' sessions (in a store shared by the instances, e.g. redisstore, when there are several)
	sessions, err := session.New(tokenstore.NewMemoryStore(), session.PlatformLogin(platform))
	if err != nil {
		log.Fatal(err)
	}

	hub, err := realtime.New(sessions,
		// realtime.WithRedis(redisClient), // with several instances
		realtime.WithAuthorizer(func(ctx context.Context, s *session.Session, t realtime.Target) error {
			if t.Kind == realtime.KindTopic && t.Name == "kitchen" && s.UserID == "" {
				return realtime.ErrForbidden // staff only
			}
			return nil
		}))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(realtime.DefaultPath, hub)
	srv := httptest.NewServer(mux) // http.ListenAndServe in a real service
	defer srv.Close()

	// an order of the merchant's mini program changed: tell the pages following it
	err = hub.Publish(context.Background(), realtime.Topic("wx00000000000000aa", "order:42"), "order.status",
		map[string]string{"status": "cooking"})
	fmt.Println("published:", err)

	// on SIGTERM: close the connections over a few seconds, the clients reconnect to other instances
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmt.Println("shut down:", hub.Shutdown(ctx))
	// Output:
	// published: <nil>
	// shut down: <nil>
}

// examplePlatform is a platform configured for the WeChat emulator (no request is made here).
func examplePlatform() *wxopen.Platform {
	emu := wxtest.NewServer()
	defer emu.Close()
	app := emu.Component()
	p, err := wxopen.New(wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token,
		EncodingAESKey: app.EncodingAESKey}, wxopen.WithBaseURL(emu.URL))
	if err != nil {
		log.Fatal(err)
	}
	return p
}
