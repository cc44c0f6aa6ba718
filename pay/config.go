package pay

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Mode says how a merchant's mini program takes payments.
type Mode int

const (
	// ModeDirect: the merchant has its own WeChat Pay merchant account (mchid) and keys; the mini
	// program's appid is bound to it. The SDK calls the /v3/pay/transactions/... endpoints.
	ModeDirect Mode = iota + 1
	// ModePartner: the platform is a WeChat Pay service provider and the merchant its sub-merchant
	// (sp_mchid + sub_mchid, sp_appid + sub_appid = the merchant's mini program). The SDK calls the
	// /v3/pay/partner/transactions/... endpoints with the service provider's keys.
	ModePartner
)

// String returns "direct", "partner" or "Mode(N)".
func (m Mode) String() string {
	switch m {
	case ModeDirect:
		return "direct"
	case ModePartner:
		return "partner"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// Account is one WeChat Pay merchant account's API v3 credentials: a direct merchant's own account,
// or the platform's service-provider account.
//
// Responses and notifications are verified either with the WeChat Pay public key (PublicKeyID and
// PublicKey, the current scheme, required for accounts opened since late 2024) or with platform
// certificates (PlatformCertificates, the older scheme); set both while migrating. Certificates are
// never downloaded automatically.
//
// Printing an Account with any fmt verb, logging it with slog or encoding it as JSON never shows the
// private key or the APIv3 key. (fmt cannot call Format on an unexported struct field and prints it
// raw: keep an Account in your own structs in an exported field, or behind a pointer and print
// those structs with %v only.)
type Account struct {
	// MchID is the merchant number (mchid, or sp_mchid for a service provider).
	MchID string
	// CertSerial is the serial number of the merchant API certificate whose private key is PrivateKey.
	CertSerial string
	// PrivateKey is the merchant API private key (apiclient_key.pem), RSA, at least 2048 bits.
	PrivateKey *rsa.PrivateKey `json:"-"`
	// APIv3Key is the 32-byte APIv3 key that encrypts notification resources.
	APIv3Key string `json:"-"`
	// PublicKeyID is the id of the WeChat Pay public key ("PUB_KEY_ID_..."), sent by WeChat Pay in
	// the Wechatpay-Serial header.
	PublicKeyID string
	// PublicKey is the WeChat Pay public key (pub_key.pem).
	PublicKey *rsa.PublicKey
	// PlatformCertificates are WeChat Pay platform certificates, for accounts that still use them.
	PlatformCertificates []*x509.Certificate
}

// Validate checks that the account is complete; the error names the field, never a secret.
func (a *Account) Validate() error {
	if a == nil {
		return wxerr.Invalid("account", "required")
	}
	if strings.TrimSpace(a.MchID) == "" {
		return wxerr.Invalid("mchid", "required")
	}
	if strings.TrimSpace(a.CertSerial) == "" {
		return wxerr.Invalid("cert_serial", "the merchant API certificate serial number is required")
	}
	if a.PrivateKey == nil || a.PrivateKey.N == nil {
		return wxerr.Invalid("private_key", "the merchant API private key is required")
	}
	if a.PrivateKey.N.BitLen() < 2048 {
		return wxerr.Invalid("private_key", "an RSA key of at least 2048 bits")
	}
	if len(a.APIv3Key) != 32 {
		return wxerr.Invalid("apiv3_key", "exactly 32 bytes")
	}
	if a.PublicKey == nil && len(a.PlatformCertificates) == 0 {
		return wxerr.Invalid("public_key", "a WeChat Pay public key (with its id) or platform certificates are required to verify responses")
	}
	if a.PublicKey != nil && strings.TrimSpace(a.PublicKeyID) == "" {
		return wxerr.Invalid("public_key_id", "required with the WeChat Pay public key")
	}
	if a.PublicKey == nil && a.PublicKeyID != "" {
		return wxerr.Invalid("public_key", "required with public_key_id")
	}
	for i, c := range a.PlatformCertificates {
		// wechatpay-go asserts the certificate key to *rsa.PublicKey without checking; reject other
		// keys here so that a bad certificate is a configuration error, not a panic at verify time.
		if c == nil {
			return wxerr.Invalid("platform_certificates", "certificate "+strconv.Itoa(i)+" is nil")
		}
		if _, ok := c.PublicKey.(*rsa.PublicKey); !ok {
			return wxerr.Invalid("platform_certificates", "certificate "+strconv.Itoa(i)+" does not hold an RSA public key")
		}
	}
	return nil
}

// verifier returns the wechatpay-go verifier for the account's trust configuration.
func (a *Account) verifier() auth.Verifier {
	switch {
	case a.PublicKey != nil && len(a.PlatformCertificates) > 0:
		return verifiers.NewSHA256WithRSACombinedVerifier(
			core.NewCertificateMapWithList(a.PlatformCertificates), a.PublicKeyID, *a.PublicKey)
	case a.PublicKey != nil:
		return verifiers.NewSHA256WithRSAPubkeyVerifier(a.PublicKeyID, *a.PublicKey)
	default:
		return verifiers.NewSHA256WithRSAVerifier(core.NewCertificateMapWithList(a.PlatformCertificates))
	}
}

// String describes the account without its secrets.
func (a Account) String() string {
	key := "<nil>"
	if a.PrivateKey != nil && a.PrivateKey.N != nil {
		key = "[redacted RSA-" + strconv.Itoa(a.PrivateKey.N.BitLen()) + "]"
	}
	v3 := `""`
	if a.APIv3Key != "" {
		v3 = "[redacted]"
	}
	pub := "<nil>"
	if a.PublicKey != nil {
		pub = "[RSA public key]"
	}
	return fmt.Sprintf("pay.Account{MchID:%q, CertSerial:%q, PrivateKey:%s, APIv3Key:%s, PublicKeyID:%q, PublicKey:%s, PlatformCertificates:%d}",
		a.MchID, a.CertSerial, key, v3, a.PublicKeyID, pub, len(a.PlatformCertificates))
}

// GoString is String: %#v never shows the secrets either.
func (a Account) GoString() string { return a.String() }

// Format writes String for every verb, so that no verb or flag reaches the secret fields.
func (a Account) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, a.String()) }

// LogValue is what slog logs for an Account: its identifiers only.
func (a Account) LogValue() slog.Value {
	return slog.GroupValue(slog.String("mchid", a.MchID), slog.String("cert_serial", a.CertSerial),
		slog.String("public_key_id", a.PublicKeyID))
}

// ServiceProvider is the platform's WeChat Pay service-provider configuration: its own appid
// (sp_appid) and merchant account (sp_mchid and keys). It signs every partner-mode request and
// its keys verify and decrypt every partner-mode notification.
type ServiceProvider struct {
	// AppID is the sp_appid: an appid bound to the service-provider account (usually the platform's
	// official account or the component appid, as registered with WeChat Pay).
	AppID string
	// Account is the service provider's merchant account (sp_mchid and its keys).
	Account Account
}

// Validate checks the service-provider configuration.
func (sp *ServiceProvider) Validate() error {
	if sp == nil {
		return wxerr.Invalid("service_provider", "required")
	}
	if strings.TrimSpace(sp.AppID) == "" {
		return wxerr.Invalid("sp_appid", "required")
	}
	return sp.Account.Validate()
}

// String describes the service provider without its secrets.
func (sp ServiceProvider) String() string {
	return fmt.Sprintf("pay.ServiceProvider{AppID:%q, Account:%s}", sp.AppID, sp.Account.String())
}

// GoString is String.
func (sp ServiceProvider) GoString() string { return sp.String() }

// Format writes String for every verb.
func (sp ServiceProvider) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, sp.String()) }

// LogValue is what slog logs for a ServiceProvider.
func (sp ServiceProvider) LogValue() slog.Value {
	return slog.GroupValue(slog.String("sp_appid", sp.AppID), slog.Any("account", sp.Account))
}

// Merchant is how one merchant's mini program, named by its authorizer appid, takes payments: set
// Direct for a merchant with its own WeChat Pay account, or SubMchID for a sub-merchant of the
// platform's service-provider account. Exactly one of the two.
type Merchant struct {
	// AppID is the authorizer appid: the merchant's mini program (appid in direct mode, sub_appid in
	// partner mode).
	AppID string
	// Direct is the merchant's own account, in direct mode. Treat it as immutable once stored.
	Direct *Account
	// SubMchID is the merchant's sub_mchid under the platform's service provider, in partner mode.
	SubMchID string
}

// Mode returns ModeDirect or ModePartner (0 when neither is set).
func (m Merchant) Mode() Mode {
	switch {
	case m.Direct != nil && m.SubMchID == "":
		return ModeDirect
	case m.Direct == nil && m.SubMchID != "":
		return ModePartner
	}
	return 0
}

// Validate checks the merchant configuration.
func (m Merchant) Validate() error {
	if strings.TrimSpace(m.AppID) == "" {
		return wxerr.Invalid("appid", "the authorizer appid is required")
	}
	switch {
	case m.Direct != nil && m.SubMchID != "":
		return wxerr.Invalid("merchant", "set either Direct (own merchant account) or SubMchID (service-provider mode), not both")
	case m.Direct != nil:
		return m.Direct.Validate()
	case strings.TrimSpace(m.SubMchID) != "":
		return nil
	}
	return wxerr.Invalid("merchant", "set Direct (own merchant account) or SubMchID (service-provider mode)")
}

// String describes the merchant without secrets.
func (m Merchant) String() string {
	if m.Direct != nil {
		return fmt.Sprintf("pay.Merchant{AppID:%q, Mode:%s, Direct:%s}", m.AppID, m.Mode(), m.Direct.String())
	}
	return fmt.Sprintf("pay.Merchant{AppID:%q, Mode:%s, SubMchID:%q}", m.AppID, m.Mode(), m.SubMchID)
}

// GoString is String.
func (m Merchant) GoString() string { return m.String() }

// Format writes String for every verb.
func (m Merchant) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, m.String()) }

// LogValue is what slog logs for a Merchant.
func (m Merchant) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("appid", m.AppID), slog.String("mode", m.Mode().String())}
	if m.Direct != nil {
		attrs = append(attrs, slog.Any("account", *m.Direct))
	} else {
		attrs = append(attrs, slog.String("sub_mchid", m.SubMchID))
	}
	return slog.GroupValue(attrs...)
}

// ErrUnknownMerchant is returned (wrapped) by a MerchantSource that has no merchant for an appid. The
// Client's error names the appid.
var ErrUnknownMerchant = errors.New("no merchant configured for this appid")

// MerchantSource finds a merchant's payment configuration by its authorizer appid. Implementations
// return an error wrapping ErrUnknownMerchant when there is none, and another error when the lookup
// itself failed. They must be safe for concurrent use. The Client calls it on every request and every
// notification, so a changed configuration takes effect at once.
type MerchantSource interface {
	Merchant(ctx context.Context, appID string) (Merchant, error)
}

// MemoryMerchants is an in-memory MerchantSource, safe for concurrent use.
type MemoryMerchants struct {
	mu sync.RWMutex
	m  map[string]Merchant
}

// NewMemoryMerchants returns a MemoryMerchants holding ms, each validated.
func NewMemoryMerchants(ms ...Merchant) (*MemoryMerchants, error) {
	s := &MemoryMerchants{m: make(map[string]Merchant, len(ms))}
	for _, m := range ms {
		if err := s.Put(m); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Put validates m and stores it under m.AppID, replacing any previous configuration.
func (s *MemoryMerchants) Put(m Merchant) error {
	if err := m.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]Merchant)
	}
	s.m[m.AppID] = m
	return nil
}

// Delete removes the merchant of appID, if any.
func (s *MemoryMerchants) Delete(appID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, appID)
}

// Merchant returns the merchant of appID, or an error wrapping ErrUnknownMerchant.
func (s *MemoryMerchants) Merchant(_ context.Context, appID string) (Merchant, error) {
	s.mu.RLock()
	m, ok := s.m[appID]
	s.mu.RUnlock()
	if !ok {
		return Merchant{}, ErrUnknownMerchant // the Client's error names the appid
	}
	return m, nil
}

// Len returns the number of merchants stored.
func (s *MemoryMerchants) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.m)
}

// String reports the number of merchants, nothing else.
func (s *MemoryMerchants) String() string {
	return "pay.MemoryMerchants{" + strconv.Itoa(s.Len()) + " merchants}"
}

// Format writes String for every verb.
func (s *MemoryMerchants) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }
