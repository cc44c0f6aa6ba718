package miniprogram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	"github.com/wxopen-go/wxopen/crypto"
	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

// Session is a user's login session with the mini program. SessionKey decrypts the data the mini
// program hands back (DecryptUserInfo, DecryptPhoneNumber); keep it on the server, never send it to
// the client. Printing a Session (fmt, slog) never shows the SessionKey, and neither does JSON: a
// Session encoded as the answer to the mini program, or by a JSON logger, carries openid and unionid
// only. To keep the key in a server-side store, save the SessionKey field itself.
type Session struct {
	OpenID string `json:"openid"`
	// SessionKey is never encoded to JSON (json:"-"); read it from the field.
	SessionKey string `json:"-"`
	// UnionID is set only when the mini program is bound to an open-platform account.
	UnionID string `json:"unionid,omitempty"`
}

// sessionAnswer is WeChat's jscode2session answer.
type sessionAnswer struct {
	OpenID     string `json:"openid"`
	SessionKey string `json:"session_key"`
	UnionID    string `json:"unionid"`
}

// String renders the session without its key.
func (s Session) String() string {
	return fmt.Sprintf("miniprogram.Session{OpenID:%s UnionID:%s SessionKey:[redacted]}", s.OpenID, s.UnionID)
}

// Format makes every fmt verb (%v, %+v, %#v, %s…) print String, so the key never reaches a log.
func (s Session) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// LogValue makes slog log the session without its key.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("openid", s.OpenID), slog.String("unionid", s.UnionID))
}

// Login exchanges a login code from wx.login for the user's session, through the platform (the
// component access token is sent on the mini program's behalf). A code works once: 40029 means it is
// invalid, 40163 (wxerr.CodeCodeUsed) that it was already used, 61003 that the mini program has not
// authorised the platform.
//
// WeChat: GET /sns/component/jscode2session
func (c *Client) Login(ctx context.Context, jsCode string) (*Session, error) {
	if jsCode == "" {
		return nil, wxerr.Invalid("js_code", "required")
	}
	if err := c.ready(); err != nil {
		return nil, err
	}
	req := &wxcall.Request{
		Method: "GET",
		Path:   "/sns/component/jscode2session",
		Query: url.Values{
			"appid":           {c.a.AppID()},
			"js_code":         {jsCode},
			"grant_type":      {"authorization_code"},
			"component_appid": {c.a.Component().AppID},
		},
	}
	var out sessionAnswer
	if err := c.a.CallComponent(ctx, req, "component_access_token", &out); err != nil {
		return nil, err
	}
	if out.OpenID == "" || out.SessionKey == "" {
		return nil, errors.New("wxopen: GET /sns/component/jscode2session: answer has no openid or session_key")
	}
	return &Session{OpenID: out.OpenID, SessionKey: out.SessionKey, UnionID: out.UnionID}, nil
}

// Watermark is the stamp WeChat puts in decrypted data: the mini program's appid and the time.
type Watermark struct {
	AppID string
	// Timestamp is when WeChat encrypted the data (a replayed old payload has an old one).
	Timestamp time.Time
}

// watermarkJSON is WeChat's form of a Watermark, timestamp in unix seconds.
type watermarkJSON struct {
	AppID     string `json:"appid"`
	Timestamp int64  `json:"timestamp"`
}

// UnmarshalJSON decodes WeChat's form, {"appid":…,"timestamp":unix seconds}.
func (w *Watermark) UnmarshalJSON(b []byte) error {
	var raw watermarkJSON
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*w = Watermark{AppID: raw.AppID, Timestamp: unixTime(raw.Timestamp)}
	return nil
}

// MarshalJSON encodes WeChat's form again.
func (w Watermark) MarshalJSON() ([]byte, error) {
	var ts int64
	if !w.Timestamp.IsZero() {
		ts = w.Timestamp.Unix()
	}
	return json.Marshal(watermarkJSON{AppID: w.AppID, Timestamp: ts})
}

// UserInfo is the user profile a mini program receives encrypted (wx.getUserInfo).
type UserInfo struct {
	OpenID    string    `json:"openId"`
	UnionID   string    `json:"unionId"`
	NickName  string    `json:"nickName"`
	Gender    int       `json:"gender"` // 0 unknown, 1 male, 2 female
	Language  string    `json:"language"`
	City      string    `json:"city"`
	Province  string    `json:"province"`
	Country   string    `json:"country"`
	AvatarURL string    `json:"avatarUrl"`
	Watermark Watermark `json:"watermark"`
}

// PhoneNumber is the user's phone number a mini program receives encrypted (getPhoneNumber).
type PhoneNumber struct {
	// PhoneNumber has the country code for numbers outside mainland China.
	PhoneNumber string `json:"phoneNumber"`
	// PurePhoneNumber has no country code.
	PurePhoneNumber string    `json:"purePhoneNumber"`
	CountryCode     string    `json:"countryCode"`
	Watermark       Watermark `json:"watermark"`
}

// decryptInto decrypts encryptedData (AES-128-CBC, digest section 8), checks that its watermark
// names this mini program and decodes it into out.
func (c *Client) decryptInto(what string, d UserData, out any) error {
	sessionKey, encryptedData, iv := d.SessionKey, d.EncryptedData, d.IV
	if sessionKey == "" {
		return wxerr.Invalid("session_key", "required")
	}
	if encryptedData == "" {
		return wxerr.Invalid("encryptedData", "required")
	}
	if iv == "" {
		return wxerr.Invalid("iv", "required")
	}
	if err := c.ready(); err != nil {
		return err
	}
	plain, err := crypto.DecryptUserData(crypto.UserData{SessionKey: sessionKey, IV: iv, EncryptedData: encryptedData, AppID: c.a.AppID()})
	if err != nil {
		return fmt.Errorf("wxopen: decrypt %s: %w: %w", what, wxerr.ErrBadUserData, err)
	}
	if err := json.Unmarshal(plain, out); err != nil {
		return fmt.Errorf("wxopen: decrypt %s: %w: decode: %w", what, wxerr.ErrBadUserData, err)
	}
	return nil
}

// UserData is what a mini program's server decrypts: the encryptedData and iv the mini program
// received (getPhoneNumber, wx.getUserInfo…) and sent to it, and the user's session key, kept on the
// server (Login). Its fields are named so that they cannot be swapped silently; printing it never
// shows the session key or the data.
type UserData struct {
	SessionKey    string
	EncryptedData string
	IV            string
}

// String describes d without the session key or the data.
func (d UserData) String() string {
	return "miniprogram.UserData{SessionKey: <redacted>, EncryptedData: " + strconv.Itoa(len(d.EncryptedData)) +
		" bytes, IV: " + d.IV + "}"
}

// GoString is String, for %#v.
func (d UserData) GoString() string { return d.String() }

// Format implements fmt.Formatter so that every verb prints String.
func (d UserData) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, d.String()) }

// DecryptUserInfo decrypts the encryptedData and iv of wx.getUserInfo with the user's session key
// and checks that the watermark names this mini program. Data that does not decrypt or names another
// mini program is errors.Is(err, wxerr.ErrBadUserData) — a bad client request, answer it 400 — with
// the *crypto.Error in the chain (errors.Is(err, crypto.ErrWatermark) for the watermark). No request
// is sent.
func (c *Client) DecryptUserInfo(d UserData) (*UserInfo, error) {
	var u UserInfo
	if err := c.decryptInto("user info", d, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// DecryptPhoneNumber decrypts the encryptedData and iv of getPhoneNumber with the user's session key
// and checks that the watermark names this mini program. Its errors are DecryptUserInfo's. No request
// is sent.
func (c *Client) DecryptPhoneNumber(d UserData) (*PhoneNumber, error) {
	var p PhoneNumber
	if err := c.decryptInto("phone number", d, &p); err != nil {
		return nil, err
	}
	return &p, nil
}
