package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wxopen-go/wxopen/crypto"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

// UserData is what a mini program hands back from an open-data call (wx.getUserInfo,
// getPhoneNumber) for the server to decrypt: its encryptedData and iv, named as WeChat names them,
// so that the mini program's JSON decodes into it. The session key is the one the Manager keeps for
// the session; miniprogram.UserData is the form for a caller that keeps session keys itself.
type UserData struct {
	EncryptedData string `json:"encryptedData"`
	IV            string `json:"iv"`
}

// decryptInto decrypts d with the session's stored key and checks that its watermark names the
// session's mini program.
func decryptInto(what string, s *Session, d UserData, out any) error {
	if s == nil || s.sessionKey == "" {
		return fmt.Errorf("session: decrypt %s: %w (not a session from this Manager)", what, ErrInvalid)
	}
	if d.EncryptedData == "" {
		return wxerr.Invalid("encryptedData", "required")
	}
	if d.IV == "" {
		return wxerr.Invalid("iv", "required")
	}
	plain, err := crypto.DecryptUserData(crypto.UserData{SessionKey: s.sessionKey, IV: d.IV, EncryptedData: d.EncryptedData, AppID: s.AppID})
	if err != nil {
		// A wrong key usually means the mini program logged in again (new session key) and sent
		// data encrypted under the new one with the old token: it must use its new token.
		return fmt.Errorf("session: decrypt %s: %w: %w", what, wxerr.ErrBadUserData, err)
	}
	if err := json.Unmarshal(plain, out); err != nil {
		return fmt.Errorf("session: decrypt %s: %w: decode: %w", what, wxerr.ErrBadUserData, err)
	}
	return nil
}

// DecryptUserInfo decrypts the encryptedData and iv of wx.getUserInfo (or of any open-data call whose
// plaintext is a user profile) with the session key kept for s, which must come from this Manager
// (Login, Validate, the middleware). The watermark must name the session's mini program
// (errors.Is(err, crypto.ErrWatermark) otherwise). When the data carries a unionid the session did
// not know, it is recorded (SetUnionID) and s is updated.
func (m *Manager) DecryptUserInfo(ctx context.Context, s *Session, d UserData) (*miniprogram.UserInfo, error) {
	var u miniprogram.UserInfo
	if err := decryptInto("user info", s, d, &u); err != nil {
		return nil, err
	}
	if u.OpenID != "" && u.OpenID != s.OpenID {
		return nil, fmt.Errorf("session: decrypt user info: %w: data of another user", ErrInvalid)
	}
	if u.UnionID != "" && s.UnionID == "" {
		ns, err := m.SetUnionID(ctx, s.Token, u.UnionID)
		if err != nil {
			return nil, err
		}
		s.UnionID, s.UserID = ns.UnionID, ns.UserID
	}
	return &u, nil
}

// DecryptPhoneNumber decrypts the encryptedData and iv of getPhoneNumber with the session key kept for
// s (the old route; miniprogram.Client.PhoneNumber takes the newer code). The watermark must name the
// session's mini program.
func (m *Manager) DecryptPhoneNumber(_ context.Context, s *Session, d UserData) (*miniprogram.PhoneNumber, error) {
	var p miniprogram.PhoneNumber
	if err := decryptInto("phone number", s, d, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// ErrNoChecker is returned by CheckSession when the Manager's Loginer is not a SessionChecker.
var ErrNoChecker = errors.New("session: the Loginer cannot check sessions (use PlatformLogin or implement SessionChecker)")

// CheckSession asks WeChat whether the session key kept for s (which must come from this Manager) is
// still the user's current one: nil when it is; WeChat's 87009 (wxerr.CodeOf) when the user logged in
// again elsewhere, or the key expired, and the mini program must call wx.login and log in again. The
// key is never sent, only its signature.
//
// WeChat: GET /wxa/checksession
func (m *Manager) CheckSession(ctx context.Context, s *Session) error {
	if s == nil || s.sessionKey == "" {
		return fmt.Errorf("session: check: %w (not a session from this Manager)", ErrInvalid)
	}
	c, ok := m.login.(SessionChecker)
	if !ok {
		return ErrNoChecker
	}
	return c.CheckSession(ctx, s.AppID, miniprogram.CheckSessionRequest{OpenID: s.OpenID, SessionKey: s.sessionKey})
}
