package component

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wxopen-go/wxopen/internal/wxhttp"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

// AuthorizationRecord is what the credential store keeps about an account's authorisation, next to
// its refresh token.
type AuthorizationRecord struct {
	AuthorizerAppID string `json:"authorizer_appid"`
	// FuncScopes are the ids of the permission sets granted.
	FuncScopes []int `json:"func_scopes"`
	// UpdatedAt is when the platform last exchanged an authorisation code for this account.
	UpdatedAt time.Time `json:"updated_at"`
}

// storeAuthorization persists a freshly exchanged authorisation: the refresh token first (the one
// thing that cannot be re-created), then the record, then the access token.
func (c *Client) storeAuthorization(ctx context.Context, a *Authorization) error {
	appID := a.AuthorizerAppID
	if err := c.replaceRefreshToken(ctx, appID, a.RefreshToken); err != nil {
		return err
	}
	rec, err := json.Marshal(AuthorizationRecord{AuthorizerAppID: appID, FuncScopes: a.FuncScopes(), UpdatedAt: c.now().UTC()})
	if err != nil {
		return fmt.Errorf("component: encode authorisation record of %s: %w", appID, err)
	}
	if err := c.creds.Set(ctx, c.authorizerKey(appID, "authorization"), tokenstore.Token{Value: string(rec)}); err != nil {
		return fmt.Errorf("component: store authorisation record of %s: %w", appID, err)
	}
	if err := c.authzTokens.Set(ctx, c.authorizerKey(appID, "access_token"), tokenstore.Token{Value: a.AccessToken, ExpiresAt: a.ExpiresAt}); err != nil {
		return fmt.Errorf("component: store access token of %s: %w", appID, err)
	}
	return nil
}

// StoredAuthorization returns the authorisation record kept for appID, or an error wrapping
// wxerr.ErrNotAuthorized when there is none.
func (c *Client) StoredAuthorization(ctx context.Context, appID string) (*AuthorizationRecord, error) {
	if appID == "" {
		return nil, wxerr.Invalid("authorizer_appid", "required")
	}
	tok, err := c.creds.Get(ctx, c.authorizerKey(appID, "authorization"))
	if errors.Is(err, tokenstore.ErrNotFound) {
		return nil, fmt.Errorf("authorizer %s: %w", appID, wxerr.ErrNotAuthorized)
	}
	if err != nil {
		return nil, fmt.Errorf("component: read authorisation record of %s: %w", appID, err)
	}
	var rec AuthorizationRecord
	if err := json.Unmarshal([]byte(tok.Value), &rec); err != nil {
		return nil, fmt.Errorf("component: decode authorisation record of %s: %w", appID, err)
	}
	return &rec, nil
}

// SetRefreshToken stores refreshToken as appID's authorizer refresh token, for tokens obtained outside
// QueryAuth (a migration from other software, or RestoreRefreshTokens). The cached access token is
// left alone.
func (c *Client) SetRefreshToken(ctx context.Context, appID, refreshToken string) error {
	if appID == "" {
		return wxerr.Invalid("authorizer_appid", "required")
	}
	if refreshToken == "" {
		return wxerr.Invalid("authorizer_refresh_token", "required")
	}
	return c.replaceRefreshToken(withReason(ctx, "manual:set_refresh_token"), appID, refreshToken)
}

// replaceRefreshToken stores refreshToken as appID's refresh token in place of whatever was kept: a
// rotation not yet saved is superseded, and a refresh already waiting for WeChat's answer to the
// previous token will not write its result back.
func (c *Client) replaceRefreshToken(ctx context.Context, appID, refreshToken string) error {
	st := c.authzState(appID)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.gen++
	if err := c.creds.Set(ctx, c.authorizerKey(appID, "refresh_token"), tokenstore.Token{Value: refreshToken}); err != nil {
		// It supersedes what was kept all the same: the next refresh writes it first and uses it.
		c.unsaved.Store(appID, refreshToken)
		return fmt.Errorf("component: store refresh token of %s (kept in memory until the store accepts it): %w", appID, err)
	}
	c.unsaved.Delete(appID)
	return nil
}

// ForgetAuthorizer drops everything kept for appID: its access token (store and in-process copy), its
// refresh token and its authorisation record. Handler calls it on an unauthorized push. A refresh of
// the account's access token that is waiting for WeChat meanwhile writes nothing back and fails with
// wxerr.ErrNotAuthorized. Every deletion is attempted; the errors are joined.
func (c *Client) ForgetAuthorizer(ctx context.Context, appID string) error {
	if appID == "" {
		return wxerr.Invalid("authorizer_appid", "required")
	}
	ctx = withReason(ctx, "manual:forget_authorizer")
	var errs []error
	st := c.authzState(appID)
	st.mu.Lock()
	st.gen++
	c.unsaved.Delete(appID)
	for _, name := range []string{"refresh_token", "authorization"} {
		if err := c.creds.Delete(ctx, c.authorizerKey(appID, name)); err != nil {
			errs = append(errs, fmt.Errorf("component: delete %s of %s: %w", name, appID, err))
		}
	}
	st.mu.Unlock()
	key := c.authorizerKey(appID, "access_token")
	if len(errs) == 0 {
		// A refresh that passed its write-back just before may still be storing its access token:
		// wait for it (joining it costs nothing; a new one finds no refresh token and sends nothing).
		_, _ = c.authzTokens.Token(ctx, key)
	}
	if err := c.authzTokens.Delete(ctx, key); err != nil {
		errs = append(errs, fmt.Errorf("component: delete access token of %s: %w", appID, err))
	}
	return errors.Join(errs...)
}

// AuthorizerTokenSource returns the access-token source of the authorizer appID: the token is
// refreshed from the stored refresh token when missing or due, once for any number of concurrent
// callers. It is what authorizer.Client uses.
func (c *Client) AuthorizerTokenSource(appID string) *tokenstore.Source {
	return c.authzTokens.Source(c.authorizerKey(appID, "access_token"))
}

// AuthorizerToken returns the access token of the authorizer appID, refreshing it if needed. With no
// stored refresh token the error wraps wxerr.ErrNotAuthorized; a refresh token WeChat no longer
// accepts is a *wxerr.APIError matching wxerr.ErrRefreshTokenInvalid (61023: the merchant must
// authorise again).
//
// WeChat: POST /cgi-bin/component/api_authorizer_token
func (c *Client) AuthorizerToken(ctx context.Context, appID string) (tokenstore.Token, error) {
	if appID == "" {
		return tokenstore.Token{}, wxerr.Invalid("authorizer_appid", "required")
	}
	return c.AuthorizerTokenSource(appID).Token(ctx)
}

// errAuthorizationChanged ends a refresh whose authorisation was revoked or replaced while WeChat
// answered.
var errAuthorizationChanged = errors.New("authorisation changed during the refresh; WeChat's answer was dropped")

// fetchAuthorizerToken is the authorizer Manager's Fetcher: refresh token from the credential store,
// api_authorizer_token, and a rotated refresh token written back before the access token is returned.
// When the authorisation changes while WeChat answers (ForgetAuthorizer, a new authorisation,
// SetRefreshToken), the answer is dropped and the refresh starts once more from what is stored now.
func (c *Client) fetchAuthorizerToken(ctx context.Context, key string) (tokenstore.Token, error) {
	appID := c.appIDFromAccessTokenKey(key)
	if appID == "" {
		return tokenstore.Token{}, wxerr.Invalid("authorizer_appid", "required")
	}
	tok, err := c.refreshAuthorizer(ctx, appID)
	if errors.Is(err, errAuthorizationChanged) {
		tok, err = c.refreshAuthorizer(ctx, appID)
	}
	return tok, err
}

func (c *Client) refreshAuthorizer(ctx context.Context, appID string) (tokenstore.Token, error) {
	rtKey := c.authorizerKey(appID, "refresh_token")
	st := c.authzState(appID)
	var gen uint64
	rt, err := func() (tokenstore.Token, error) {
		st.mu.Lock()
		defer st.mu.Unlock()
		gen = st.gen
		if v, ok := c.unsaved.Load(appID); ok {
			// A rotation whose write failed earlier: make it durable first, or stop here (WeChat may
			// have retired the stored token; the unsaved one is kept for the next attempt).
			pending := v.(string)
			if err := c.creds.Set(tokenstore.WithReason(ctx, "api_authorizer_token:retry_store"), rtKey, tokenstore.Token{Value: pending}); err != nil {
				return tokenstore.Token{}, fmt.Errorf("component: store rotated refresh token of %s (kept in memory until the store accepts it): %w", appID, err)
			}
			c.unsaved.CompareAndDelete(appID, pending)
		}
		rt, err := c.creds.Get(ctx, rtKey)
		if errors.Is(err, tokenstore.ErrNotFound) || (err == nil && rt.IsZero()) {
			return tokenstore.Token{}, fmt.Errorf("authorizer %s: %w", appID, wxerr.ErrNotAuthorized)
		}
		if err != nil {
			return tokenstore.Token{}, fmt.Errorf("component: read refresh token of %s: %w", appID, err)
		}
		return rt, nil
	}()
	if err != nil {
		return tokenstore.Token{}, err
	}
	var out struct {
		AccessToken  string `json:"authorizer_access_token"`
		ExpiresIn    int64  `json:"expires_in"`
		RefreshToken string `json:"authorizer_refresh_token"`
	}
	err = c.componentCall(ctx, &wxhttp.Request{
		Method: "POST", Path: "/cgi-bin/component/api_authorizer_token",
		Body: map[string]string{
			"component_appid":          c.appID,
			"authorizer_appid":         appID,
			"authorizer_refresh_token": rt.Value,
		},
		Idempotent: true, AppID: appID,
	}, "", &out)
	if err != nil {
		return tokenstore.Token{}, fmt.Errorf("authorizer %s: %w", appID, err)
	}
	if out.AccessToken == "" {
		return tokenstore.Token{}, fmt.Errorf("wxopen: POST /cgi-bin/component/api_authorizer_token: answer for %s has no authorizer_access_token", appID)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.gen != gen {
		return tokenstore.Token{}, fmt.Errorf("authorizer %s: %w", appID, errAuthorizationChanged)
	}
	if out.RefreshToken != "" && out.RefreshToken != rt.Value {
		// WeChat rotated the refresh token: it is authoritative from now on, so it must be durable
		// before anything uses the access token that came with it.
		// If the write fails, the caller gets the error (never the access token), and the new refresh
		// token is kept in memory and written first on the next attempt.
		if err := c.creds.Set(tokenstore.WithReason(ctx, "api_authorizer_token"), rtKey, tokenstore.Token{Value: out.RefreshToken}); err != nil {
			c.unsaved.Store(appID, out.RefreshToken)
			return tokenstore.Token{}, fmt.Errorf("component: store rotated refresh token of %s (kept in memory until the store accepts it): %w", appID, err)
		}
	}
	return tokenstore.Token{Value: out.AccessToken, ExpiresAt: c.expiresAt(out.ExpiresIn)}, nil
}
