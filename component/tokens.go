package component

import (
	"context"
	"errors"
	"fmt"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

// AuthorizerTokenSource returns the access-token source of the authorizer appID: the token is
// refreshed from the stored refresh token when missing or due, once for any number of concurrent
// callers. It is what authorizer.Client uses.
func (c *Client) AuthorizerTokenSource(appID string) *tokenstore.Source {
	var buf [128]byte // the key is built here, so that finding a known appid does not allocate
	return c.authzTokens.SourceBytes(authorizer.AppendKey(buf[:0], c.appID, appID, "access_token"))
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
	if err := c.settlePending(ctx, appID); err != nil {
		// WeChat may have retired the stored token: nothing is sent until the store accepts ours.
		return tokenstore.Token{}, err
	}
	rt, err := c.readCred(ctx, c.authorizerKey(appID, "refresh_token"))
	if err != nil {
		return tokenstore.Token{}, fmt.Errorf("component: read refresh token of %s: %w", appID, err)
	}
	if rt == "" {
		return tokenstore.Token{}, fmt.Errorf("authorizer %s: %w", appID, wxerr.ErrNotAuthorized)
	}
	var out struct {
		AccessToken  string `json:"authorizer_access_token"`
		ExpiresIn    int64  `json:"expires_in"`
		RefreshToken string `json:"authorizer_refresh_token"`
	}
	err = c.componentCall(ctx, &wxcall.Request{
		Method: "POST", Path: "/cgi-bin/component/api_authorizer_token",
		Body: map[string]string{
			"component_appid":          c.appID,
			"authorizer_appid":         appID,
			"authorizer_refresh_token": rt,
		},
		Idempotent: true, AppID: appID,
	}, "", &out)
	if err != nil {
		return tokenstore.Token{}, fmt.Errorf("authorizer %s: %w", appID, err)
	}
	if out.AccessToken == "" {
		return tokenstore.Token{}, fmt.Errorf("wxopen: POST /cgi-bin/component/api_authorizer_token: answer for %s has no authorizer_access_token", appID)
	}
	if out.RefreshToken != "" && out.RefreshToken != rt {
		// WeChat rotated the refresh token: it must be durable before anything uses the access token
		// that came with it. It replaces only the token sent (compare-and-swap): if the store holds
		// another one by now, another instance rotated it or the authorisation changed, and the
		// refresh starts again from what is stored. If the write cannot be settled, the caller gets
		// the error (never the access token) and the pair is kept in memory for the next attempt.
		ok, err := c.swapRefreshToken(tokenstore.WithReason(ctx, "api_authorizer_token"), appID, rt, out.RefreshToken)
		if err != nil {
			c.keepPending(appID, rt, out.RefreshToken)
			return tokenstore.Token{}, fmt.Errorf("component: store rotated refresh token of %s (kept in memory until the store accepts it): %w", appID, err)
		}
		if !ok {
			return tokenstore.Token{}, fmt.Errorf("authorizer %s: %w", appID, errAuthorizationChanged)
		}
	} else if cur, err := c.readCred(ctx, c.authorizerKey(appID, "refresh_token")); err == nil && cur != rt {
		// Unrotated (WeChat's usual answer): the token sent must still be the stored one, or the
		// authorisation was revoked or replaced meanwhile, maybe at another instance, and this access
		// token must not be handed out nor cached. A failed read proves nothing: the token stands.
		return tokenstore.Token{}, fmt.Errorf("authorizer %s: %w", appID, errAuthorizationChanged)
	}
	return tokenstore.Token{Value: out.AccessToken, ExpiresAt: c.expiresAt(out.ExpiresIn)}, nil
}
