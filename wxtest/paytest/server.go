// Package paytest is an in-process emulator of WeChat Pay API v3 on a loopback httptest server, for
// testing code that takes payments (such as wxopen's pay package, or wechatpay-go used directly).
//
// It keeps state: JSAPI orders placed directly or by a service provider for a sub-merchant, their
// queries by out_trade_no and transaction id, closing, refunds and refund queries. Like WeChat Pay it
// verifies the Authorization signature of every request against the public key registered for the
// merchant (HTTP 401 SIGN_ERROR otherwise) and signs every answer with its own WeChat Pay key, whose
// public key and id the test configures as trusted (PublicKey, PublicKeyID). Pay marks an order paid
// and CompleteRefund completes a refund; each then POSTs a signed notification, its resource
// encrypted with AES-256-GCM under the receiving account's APIv3 key, to the order's notify URL.
//
// Point a client at it with Client (an *http.Client whose transport sends api.mch.weixin.qq.com to
// the emulator) or with the emulator's URL as base URL.
//
// Error codes and messages follow WeChat Pay's documented shape ({"code","message"}); the exact code
// for each refusal is the emulator's best reading of the public documentation.
package paytest

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Hosts of WeChat Pay API v3 that Client redirects to the emulator.
const (
	APIHost       = "api.mch.weixin.qq.com"
	APIHostBackup = "api2.mch.weixin.qq.com"
)

// Merchant is a WeChat Pay merchant account registered with the emulator: a direct merchant or a
// service provider.
type Merchant struct {
	// MchID is the merchant number.
	MchID string
	// SerialNo is the serial number of the merchant API certificate whose key signs requests.
	SerialNo string
	// PublicKey verifies the merchant's request signatures.
	PublicKey *rsa.PublicKey
	// APIv3Key (32 bytes) encrypts the resources of notifications sent to this account.
	APIv3Key string
	// AppIDs are the appids bound to the account (mini programs for a direct merchant, sp_appid for a
	// service provider). Empty means any appid is accepted.
	AppIDs []string
}

// String describes the merchant without its APIv3 key.
func (m Merchant) String() string {
	return fmt.Sprintf("paytest.Merchant{MchID:%q, SerialNo:%q, AppIDs:%q}", m.MchID, m.SerialNo, m.AppIDs)
}

// GoString is String.
func (m Merchant) GoString() string { return m.String() }

// Format writes String for every verb.
func (m Merchant) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, m.String()) }

// SubMerchant is a sub-merchant of a registered service provider.
type SubMerchant struct {
	// SpMchID is the service provider's merchant number (registered with AddMerchant).
	SpMchID string
	// SubMchID is the sub-merchant's number.
	SubMchID string
	// AppIDs are the sub_appids bound to the sub-merchant. Empty means any.
	AppIDs []string
}

// Request is one request the emulator received.
type Request struct {
	Method string
	// URI is the request URI as sent (path and query).
	URI string
	// MchID is the merchant named by the Authorization header ("" when it could not be parsed).
	MchID string
	// Body is the request body.
	Body []byte
	// Status is the HTTP status the emulator answered.
	Status int
	// Code is the error code answered, "" on success.
	Code string
}

// Option configures NewServer.
type Option func(*options) error

type options struct {
	key          *rsa.PrivateKey
	keyID        string
	notifyClient *http.Client
	now          func() time.Time
}

// WithWeChatPayKey makes the emulator sign answers and notifications with key and announce keyID in
// Wechatpay-Serial, instead of a freshly generated 2048-bit key (generate one per test binary and
// share it to keep tests fast).
func WithWeChatPayKey(key *rsa.PrivateKey, keyID string) Option {
	return func(o *options) error {
		if key == nil || keyID == "" {
			return errors.New("paytest: WithWeChatPayKey needs a key and its id")
		}
		o.key, o.keyID = key, keyID
		return nil
	}
}

// WithNotifyClient sets the *http.Client that delivers notifications (default: 10 s timeout).
func WithNotifyClient(c *http.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("paytest: nil notify client")
		}
		o.notifyClient = c
		return nil
	}
}

// WithClock sets the emulator's clock (default time.Now). Signature timestamps of requests are
// checked against it, and it dates answers, payments and refunds.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("paytest: nil clock")
		}
		o.now = now
		return nil
	}
}

// Server is a running WeChat Pay emulator. All methods are safe for concurrent use.
type Server struct {
	// URL is the emulator's base URL, http://127.0.0.1:PORT.
	URL string

	srv          *httptest.Server
	key          *rsa.PrivateKey
	keyID        string
	notifyClient *http.Client
	now          func() time.Time

	mu            sync.Mutex
	merchants     map[string]*Merchant    // by mchid
	subs          map[string]*SubMerchant // by sub_mchid
	orders        map[string]*order       // by owner mchid + "/" + out_trade_no
	byTransaction map[string]*order       // by transaction_id
	refunds       map[string]*refund      // by owner mchid + "/" + out_refund_no
	notifications []*Notification
	requests      []Request
	seq           int64
}

// NewServer starts an emulator on a loopback port. Close it when done.
func NewServer(opts ...Option) (*Server, error) {
	o := options{}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.key == nil {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("paytest: generate WeChat Pay key: %w", err)
		}
		n, err := rand.Int(rand.Reader, big.NewInt(1e12))
		if err != nil {
			return nil, fmt.Errorf("paytest: %w", err)
		}
		o.key, o.keyID = key, fmt.Sprintf("PUB_KEY_ID_0000PAYTEST%012d", n)
	}
	if o.notifyClient == nil {
		o.notifyClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.now == nil {
		o.now = time.Now
	}
	s := &Server{
		key: o.key, keyID: o.keyID, notifyClient: o.notifyClient, now: o.now,
		merchants:     make(map[string]*Merchant),
		subs:          make(map[string]*SubMerchant),
		orders:        make(map[string]*order),
		byTransaction: make(map[string]*order),
		refunds:       make(map[string]*refund),
	}
	s.srv = httptest.NewServer(s.routes())
	s.URL = s.srv.URL
	return s, nil
}

// NewTestServer is NewServer for a test: a failure stops the test and tb.Cleanup closes the server.
func NewTestServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := NewServer(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Close shuts the emulator down.
func (s *Server) Close() { s.srv.Close() }

// PublicKey is the WeChat Pay public key that verifies the emulator's answers and notifications:
// configure it as trusted in the client under PublicKeyID.
func (s *Server) PublicKey() *rsa.PublicKey { return &s.key.PublicKey }

// PublicKeyID is the id the emulator sends in Wechatpay-Serial.
func (s *Server) PublicKeyID() string { return s.keyID }

// AddMerchant registers a merchant account (direct merchant or service provider), replacing any
// account with the same MchID.
func (s *Server) AddMerchant(m Merchant) error {
	if m.MchID == "" || m.SerialNo == "" || m.PublicKey == nil {
		return errors.New("paytest: a merchant needs MchID, SerialNo and PublicKey")
	}
	if len(m.APIv3Key) != 32 {
		return errors.New("paytest: the APIv3 key must be 32 bytes")
	}
	m.AppIDs = append([]string(nil), m.AppIDs...)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.merchants[m.MchID] = &m
	return nil
}

// AddSubMerchant registers a sub-merchant of a service provider already added with AddMerchant.
func (s *Server) AddSubMerchant(sm SubMerchant) error {
	if sm.SpMchID == "" || sm.SubMchID == "" {
		return errors.New("paytest: a sub-merchant needs SpMchID and SubMchID")
	}
	sm.AppIDs = append([]string(nil), sm.AppIDs...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.merchants[sm.SpMchID]; !ok {
		return fmt.Errorf("paytest: service provider %s is not registered", sm.SpMchID)
	}
	s.subs[sm.SubMchID] = &sm
	return nil
}

// Client returns an *http.Client that sends requests for api.mch.weixin.qq.com (and api2) to the
// emulator and refuses every other host.
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: &redirect{s: s, next: s.srv.Client().Transport}, Timeout: 30 * time.Second}
}

// Requests returns a copy of every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Body = append([]byte(nil), r.Body...)
		out[i] = r
	}
	return out
}

type redirect struct {
	s    *Server
	next http.RoundTripper
}

func (t *redirect) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != APIHost && req.URL.Host != APIHostBackup {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, fmt.Errorf("paytest: refusing request to %s: only %s is emulated", req.URL.Host, APIHost)
	}
	r := req.Clone(req.Context())
	u := *req.URL
	u.Scheme, u.Host = "http", t.s.srv.Listener.Addr().String()
	r.URL, r.Host = &u, ""
	return t.next.RoundTrip(r)
}

// nextSeq returns a sequence number; s.mu must be held.
func (s *Server) nextSeq() int64 {
	s.seq++
	return s.seq
}

// cst is the zone WeChat Pay writes its times in.
func cst() *time.Location { return time.FixedZone("CST", 8*3600) }

// nowCST is the emulator clock in +08:00, to the second.
func (s *Server) nowCST() time.Time { return s.now().In(cst()).Truncate(time.Second) }

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randString returns n random alphanumeric characters.
func randString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand.Read does not fail on supported platforms; fall back to a fixed pattern.
		for i := range b {
			b[i] = byte(i)
		}
	}
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}
