package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/authlink"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/wxerr"
)

// Real mode's pages for merchants: /wechat/start links to WeChat's authorisation page (WeChat
// accepts the link only from a page on the platform's authorisation initiation domain), and WeChat
// sends the merchant back to /wechat/authorized.
const (
	startPath      = "/wechat/start"
	authorizedPath = "/wechat/authorized"
	// startQRPath serves the start page's URL as a PNG QR code: merchants save it and scan it from
	// WeChat (inside the merchant-admin mini program a link cannot be opened). The start page makes a
	// fresh pre-auth code on every open, so the image never expires.
	startQRPath = "/wechat/start.png"
)

// shutdownGrace is how long pushes being handled may take to finish after SIGINT or SIGTERM.
const shutdownGrace = 10 * time.Second

// serve runs the platform for real WeChat until ctx is done: it serves the push handlers and the
// merchants' pages on cfg.Listen, prints the URLs to configure on open.weixin.qq.com, and prints the
// PC authorisation URL once a verify ticket is stored.
func serve(ctx context.Context, out io.Writer, cfg realConfig) error {
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	opts := []wxopen.Option{wxopen.WithLogger(log)}
	if cfg.BaseURL != "" {
		opts = append(opts, wxopen.WithBaseURL(cfg.BaseURL))
	}
	// The default memory stores lose the verify ticket and every merchant's refresh token on
	// restart: a real platform passes wxopen.WithCredentialStore (tokenstore/sqlstore, or Redis
	// without eviction) and wxopen.WithTokenStore (tokenstore/redisstore).
	p, err := wxopen.New(cfg.Platform, opts...)
	if err != nil {
		return fmt.Errorf("platform configuration: %w", err)
	}
	redirect := cfg.PublicURL + authorizedPath

	// The handlers store tickets and exchange authorisation codes themselves; the callbacks only log.
	tickets := make(chan struct{}, 1)
	ticketStored := func() {
		select {
		case tickets <- struct{}{}:
		default: // one signal is enough
		}
	}
	mux, err := pushRoutes(p, component.HandlerConfig{
		OnVerifyTicket: func(context.Context, *component.VerifyTicketEvent) error {
			ticketStored()
			return nil
		},
		OnAuthorized: func(_ context.Context, ev *component.AuthorizedEvent) error {
			log.Info("merchant authorised the platform; tokens stored", "appid", ev.AuthorizerAppID,
				"permission_sets", ev.Authorization.FuncScopes())
			return nil
		},
		OnUpdateAuthorized: func(_ context.Context, ev *component.UpdateAuthorizedEvent) error {
			log.Info("merchant changed its authorisation; tokens stored", "appid", ev.AuthorizerAppID)
			return nil
		},
		OnUnauthorized: func(_ context.Context, ev *component.UnauthorizedEvent) error {
			log.Info("merchant revoked the authorisation; its tokens are dropped", "appid", ev.AuthorizerAppID)
			return nil
		},
	}, component.MessageHandlerConfig{
		OnAuditSuccess: func(_ context.Context, ev *component.AuditSuccessEvent) error {
			log.Info("code passed review; release it with p.MiniProgram(appid).Release", "appid", ev.AuthorizerAppID)
			return nil
		},
		OnAuditFail: func(_ context.Context, ev *component.AuditFailEvent) error {
			log.Info("code rejected", "appid", ev.AuthorizerAppID, "reason", ev.Reason)
			return nil
		},
	})
	if err != nil {
		return err
	}
	mux.HandleFunc("GET "+startPath, func(w http.ResponseWriter, r *http.Request) {
		u, _, err := authURL(r.Context(), p, redirect)
		if err != nil {
			log.Warn("cannot build the authorisation URL", "error", err)
			http.Error(w, "The platform cannot start an authorisation now; try again in a few minutes.", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html>\n<title>Authorise the platform</title>\n<p><a href=\"%s\">Authorise your official account or mini program</a></p>\n",
			html.EscapeString(u))
	})
	qr, err := authlink.QRCodeHandler(cfg.PublicURL+startPath, 0, nil)
	if err != nil {
		return err
	}
	mux.Handle("GET "+startQRPath, qr)
	mux.HandleFunc("GET "+authorizedPath, func(w http.ResponseWriter, r *http.Request) {
		// WeChat also pushes "authorized" with the same code, and the handler stores the tokens.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "Thank you: the platform is authorised. You can close this page.")
	})

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	srv := newHTTPServer(mux)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	host := cfg.PublicURL
	if u, err := url.Parse(cfg.PublicURL); err == nil {
		host = u.Hostname()
	}
	fmt.Fprintf(out, "Platform %s listening on %s. Configure it on open.weixin.qq.com:\n", p.ComponentAppID(), ln.Addr())
	fmt.Fprintf(out, "  authorisation event URL          %s%s\n", cfg.PublicURL, authEventPath)
	fmt.Fprintf(out, "  message and event URL            %s%s\n", cfg.PublicURL, messageURLPath)
	fmt.Fprintf(out, "  authorisation initiation domain  %s\n", host)
	fmt.Fprintf(out, "Merchants authorise the platform from %s%s.\n", cfg.PublicURL, startPath)
	fmt.Fprintf(out, "Its QR code, to save and scan from WeChat: %s%s\n", cfg.PublicURL, startQRPath)
	fmt.Fprintln(out, "Credentials are kept in memory: a restart loses the verify ticket and every merchant's refresh token.")

	// A ticket kept by a durable credential store from an earlier run works at once. Otherwise ask
	// WeChat to push one now rather than wait up to 10 minutes for the regular push.
	if _, err := p.Component().VerifyTicket(ctx); err == nil {
		ticketStored()
	} else {
		fmt.Fprintln(out, "Waiting for WeChat's component_verify_ticket: WeChat pushes one every 10 minutes; asking for one now.")
		if err := p.Component().StartPushTicket(ctx); err != nil {
			log.Warn("api_start_push_ticket failed; waiting for the regular push", "error", err)
		}
	}

	waiting := (<-chan struct{})(tickets) // nil once the URL is printed
	for {
		select {
		case <-waiting:
			u, expires, err := authURL(ctx, p, redirect)
			if err != nil {
				log.Warn("cannot build the authorisation URL; trying again at the next ticket", "error", err)
				continue
			}
			waiting = nil
			fmt.Fprintf(out, "Verify ticket stored. PC authorisation URL (valid until %s; open it from a page of %s):\n  %s\n",
				expires.Format(clock), host, u)
		case err := <-served:
			return fmt.Errorf("serve: %w", err)
		case <-ctx.Done():
			fmt.Fprintln(out, "Shutting down.")
			return shutdown(ctx, srv, served)
		}
	}
}

// shutdown stops srv gracefully: no new connections, and pushes being handled get shutdownGrace to
// finish. served is where srv.Serve returns.
func shutdown(ctx context.Context, srv *http.Server, served <-chan error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// authURL obtains a pre-auth code and builds the PC authorisation page URL on it. A pre-auth code
// works once and expires: build a new URL for every merchant.
func authURL(ctx context.Context, p *wxopen.Platform, redirect string) (string, time.Time, error) {
	pre, err := p.Component().PreAuthCode(ctx)
	if errors.Is(err, wxerr.ErrNoVerifyTicket) {
		return "", time.Time{}, errors.New("no verify ticket yet (WeChat pushes one every 10 minutes)")
	}
	if err != nil {
		return "", time.Time{}, err
	}
	u, err := p.Component().AuthURL(pre.Code, redirect, component.AuthURLOptions{})
	if err != nil {
		return "", time.Time{}, err
	}
	return u, pre.ExpiresAt, nil
}
