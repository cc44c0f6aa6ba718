package realtime_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/wxopen-go/wxopen/realtime"
)

// A service serves the hub next to its other handlers and publishes when its data changes.
func ExampleNew() {
	var sessions realtime.Validator = newFakeSessions() // the service's *session.Manager

	hub, err := realtime.New(sessions,
		// realtime.WithRedis(redisClient), // with several instances
		realtime.WithAuthorizer(func(ctx context.Context, s *realtime.Session, t realtime.Target) error {
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
