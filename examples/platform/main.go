// Command platform is a complete WeChat third-party platform built on wxopen.
//
// By default it runs against wxtest, the WeChat emulator, started in-process: nothing to configure,
// no network. It serves the platform's two push handlers on a loopback port and walks through what a
// platform does for a merchant, printing each step: WeChat pushes the verify ticket, the platform
// gets its component access token and an authorisation URL, the merchant's mini program ("Noodle
// House") authorises, its tokens are stored, the platform reads the account's details, creates an
// open-platform account for the merchant's apps, pushes its template code through audit to release,
// saves the experience QR code, logs a user in, and issues the merchant's membership card. Then a
// brand-new merchant goes the whole way under today's rules: fast registration, basic info, a
// reviewed category, domains, a tester, commit, the privacy scan, a privacy interface, the privacy
// guide, readiness, audit within the platform's quota, grey and full release — each step printed
// with the number of WeChat calls it made.
//
//	go run ./examples/platform
//	go run ./examples/platform -qrcode ./noodle-house.jpg
//
// With the platform's credentials in the environment it serves the same handlers for real WeChat
// instead, until SIGINT or SIGTERM:
//
//	WXOPEN_COMPONENT_APPID   the platform's appid (open.weixin.qq.com → the platform's details)
//	WXOPEN_COMPONENT_SECRET  its AppSecret
//	WXOPEN_TOKEN             the message-check token configured there
//	WXOPEN_ENCODING_AES_KEY  the 43-character message encryption key configured there
//	WXOPEN_LISTEN            optional: the address to listen on (default :8080)
//	WXOPEN_PUBLIC_URL        optional: the platform's public base URL, whose host is its authorisation
//	                         initiation domain (default http://localhost and the listen port)
//	WXOPEN_BASE_URL          optional: a proxy in front of https://api.weixin.qq.com
//
// The four first are all required for real mode; setting only some of them is an error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/wxopen-go/wxopen"
)

// The environment of real mode.
const (
	envAppID     = "WXOPEN_COMPONENT_APPID"
	envSecret    = "WXOPEN_COMPONENT_SECRET"
	envToken     = "WXOPEN_TOKEN"
	envAESKey    = "WXOPEN_ENCODING_AES_KEY"
	envListen    = "WXOPEN_LISTEN"
	envPublicURL = "WXOPEN_PUBLIC_URL"
	envBaseURL   = "WXOPEN_BASE_URL"
)

// config is what main hands to run.
type config struct {
	// QRCodePath is where the emulator walk-through saves the experience QR code.
	QRCodePath string
	// Real, when set, serves the platform for real WeChat instead of the walk-through.
	Real *realConfig
}

// realConfig configures real mode. Printing it never shows a secret (wxopen.Config hides them).
type realConfig struct {
	Platform wxopen.Config
	// Listen is the address the push handlers are served on.
	Listen string
	// PublicURL is the base URL WeChat and merchants reach the server at, without a trailing slash.
	PublicURL string
	// BaseURL replaces https://api.weixin.qq.com when set.
	BaseURL string
}

func main() {
	cfg, err := loadConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "platform:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, os.Stdout, cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "platform:", err)
		os.Exit(1)
	}
}

// run serves the platform for real WeChat when cfg.Real is set, and otherwise walks through the
// whole flow against the in-process emulator. It writes to out.
func run(ctx context.Context, out io.Writer, cfg config) error {
	if cfg.Real != nil {
		return serve(ctx, out, *cfg.Real)
	}
	return walkThrough(ctx, out, cfg.QRCodePath)
}

// loadConfig parses the flags in args and the environment read by getenv. -h prints the usage to
// output and returns flag.ErrHelp.
func loadConfig(args []string, getenv func(string) string, output io.Writer) (config, error) {
	fs := flag.NewFlagSet("platform", flag.ContinueOnError)
	fs.SetOutput(output)
	qrcode := fs.String("qrcode", filepath.Join(os.TempDir(), "wxopen-experience-qrcode.jpg"),
		"save the walk-through's experience QR code (a JPEG) to `PATH`")
	fs.Usage = func() {
		fmt.Fprint(output, `Usage: go run ./examples/platform [-qrcode PATH]

Without configuration, walks a whole WeChat third-party platform through the in-process WeChat
emulator (wxtest), printing each step.

With these variables set, serves the platform's push handlers for real WeChat instead:
  `+envAppID+`   the platform's appid
  `+envSecret+`  its AppSecret
  `+envToken+`             the message-check token configured on open.weixin.qq.com
  `+envAESKey+`  the 43-character message encryption key configured there
  `+envListen+`            optional: the address to listen on (default :8080)
  `+envPublicURL+`        optional: the public base URL of this server (default http://localhost:PORT)
  `+envBaseURL+`          optional: a proxy in front of https://api.weixin.qq.com

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q (see -h)", fs.Arg(0))
	}
	cfg := config{QRCodePath: *qrcode}

	required := []string{envAppID, envSecret, envToken, envAESKey}
	var missing []string
	for _, name := range required {
		if strings.TrimSpace(getenv(name)) == "" {
			missing = append(missing, name)
		}
	}
	switch len(missing) {
	case len(required):
		return cfg, nil // emulator mode
	case 0:
	default:
		return config{}, fmt.Errorf("real mode needs all of %s; missing: %s (unset them all to run against the emulator)",
			strings.Join(required, ", "), strings.Join(missing, ", "))
	}

	rc := realConfig{
		Platform: wxopen.Config{
			ComponentAppID: strings.TrimSpace(getenv(envAppID)),
			AppSecret:      strings.TrimSpace(getenv(envSecret)),
			Token:          strings.TrimSpace(getenv(envToken)),
			EncodingAESKey: strings.TrimSpace(getenv(envAESKey)),
		},
		Listen:    getenv(envListen),
		PublicURL: strings.TrimRight(getenv(envPublicURL), "/"),
		BaseURL:   getenv(envBaseURL),
	}
	if rc.Listen == "" {
		rc.Listen = ":8080"
	}
	host, port, err := net.SplitHostPort(rc.Listen)
	if err != nil {
		return config{}, fmt.Errorf("%s=%q: want host:port or :port", envListen, rc.Listen)
	}
	if rc.PublicURL == "" {
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		rc.PublicURL = "http://" + net.JoinHostPort(host, port)
	}
	for _, v := range []struct{ name, value string }{{envPublicURL, rc.PublicURL}, {envBaseURL, rc.BaseURL}} {
		if v.value == "" {
			continue
		}
		if u, err := url.Parse(v.value); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return config{}, fmt.Errorf("%s=%q: want an absolute http(s) URL", v.name, v.value)
		}
	}
	cfg.Real = &rc
	return cfg, nil
}
