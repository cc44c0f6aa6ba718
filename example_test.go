package wxopen_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

// A platform wires its configuration and stores once, serves WeChat's pushes, and hands out clients.
func ExampleNew() {
	// In production: a persistent store for credentials (tokenstore/sqlstore, or Redis without
	// eviction) and any cache for tokens (tokenstore/redisstore).
	credentials := tokenstore.NewMemoryStore()
	cache := tokenstore.NewMemoryStore()

	p, err := wxopen.New(wxopen.Config{
		ComponentAppID: "wxcomponent0000001",
		AppSecret:      "APPSECRET",
		Token:          "MSGTOKEN",
		EncodingAESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
	},
		wxopen.WithCredentialStore(credentials),
		wxopen.WithTokenStore(cache),
		wxopen.WithTimeout(10*time.Second),
		wxopen.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
	)
	if err != nil {
		log.Fatal(err)
	}

	// The authorisation event URL (verify tickets, authorized/unauthorized) and the message URL,
	// configured on the platform as https://example.com/wechat/msg/$APPID$.
	auth, err := p.Handler(component.HandlerConfig{})
	if err != nil {
		log.Fatal(err)
	}
	msgs, err := p.MessageHandler(component.MessageHandlerConfig{
		OnAuditSuccess: func(ctx context.Context, ev *component.AuditSuccessEvent) error {
			log.Printf("%s passed review; release it", ev.AuthorizerAppID)
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/wechat/auth", auth)
	mux.Handle("/wechat/msg/{appid}", msgs)

	// Until WeChat has pushed a verify ticket, nothing that needs the component token can run.
	_, err = p.Component().PreAuthCode(context.Background())
	fmt.Println(errors.Is(err, wxerr.ErrNoVerifyTicket))

	// A merchant that never authorised the platform has no token.
	_, err = p.Authorizer("wxmerchant0000001").Token(context.Background())
	fmt.Println(errors.Is(err, wxerr.ErrNotAuthorized))

	fmt.Println(p) // never prints a secret
	// Output:
	// true
	// true
	// wxopen.Platform{ComponentAppID: wxcomponent0000001}
}
