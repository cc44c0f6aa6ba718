package component

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

// A message push is bound to its account: WeChat posts an account's messages to the message URL with
// the account's appid in place of $APPID$, and names the account in ToUserName by its original id
// (gh_…). A push whose ToUserName is not the original id of the account its URL names was not sent
// there by WeChat (a push for one merchant replayed to another's URL, both signed with the platform's
// own token): MessageHandler refuses it with 403 and logs it.

// errWrongAccount is a push whose ToUserName is not the account its URL names.
func errWrongAccount(appID, toUserName string) error {
	return &statusError{http.StatusForbidden, "push for " + toUserName + " posted to the URL of " + appID +
		", whose original id is another: refused"}
}

// checkAccount refuses a push whose ToUserName is not the original id of appID.
func (c *Client) checkAccount(ctx context.Context, appID, toUserName string) error {
	switch {
	case appID == "":
		return badRequest("no authorizer appid in the message URL (configure it with $APPID$): the push cannot be bound to its account")
	case toUserName == "":
		return badRequest("message has no ToUserName")
	}
	want, err := c.originalID(ctx, appID)
	if err != nil {
		var se *statusError
		if errors.As(err, &se) {
			return err
		}
		if wxerr.CodeOf(err) != 0 {
			// WeChat does not know appID as an account of this platform.
			return &statusError{http.StatusForbidden, "push posted to the URL of " + appID + ", which WeChat does not know as an authorizer: " + err.Error()}
		}
		return err // the store or WeChat cannot answer now: 500, and WeChat pushes again
	}
	if want != toUserName {
		return errWrongAccount(appID, toUserName)
	}
	return nil
}

// originalID returns the original id (gh_…) of the authorised account appID, kept in its
// authorisation record. A record without it (written by an older wxopen, or none at all after
// SetRefreshToken) is completed from api_get_authorizer_info (see keepOriginalID).
func (c *Client) originalID(ctx context.Context, appID string) (string, error) {
	rec, _, err := c.readRecordFields(ctx, appID)
	if err != nil {
		return "", err
	}
	var revoked bool
	if raw, ok := rec["revoked"]; ok && json.Unmarshal(raw, &revoked) == nil && revoked {
		return "", &statusError{http.StatusForbidden, "push posted to the URL of " + appID + ", which revoked its authorisation"}
	}
	var name string
	if raw, ok := rec["user_name"]; ok && json.Unmarshal(raw, &name) == nil && name != "" {
		return name, nil
	}
	info, err := c.AuthorizerInfo(ctx, appID) // completes the record
	if err != nil {
		return "", err
	}
	if info.UserName == "" {
		return "", errors.New("component: POST /cgi-bin/component/api_get_authorizer_info: answer for " + appID + " has no user_name")
	}
	return info.UserName, nil
}

// readRecordFields reads appID's authorisation record as raw fields (nil when there is none, or it
// is unreadable) with the stored token it came from.
func (c *Client) readRecordFields(ctx context.Context, appID string) (map[string]json.RawMessage, tokenstore.Token, error) {
	stored, err := c.creds.Get(ctx, c.authorizerKey(appID, "authorization"))
	if errors.Is(err, tokenstore.ErrNotFound) {
		return nil, tokenstore.Token{}, nil
	}
	if err != nil {
		return nil, tokenstore.Token{}, err
	}
	var rec map[string]json.RawMessage
	if json.Unmarshal([]byte(stored.Value), &rec) != nil {
		return nil, stored, nil // an unreadable record is left for its owner to replace
	}
	return rec, stored, nil
}

// keepOriginalID adds userName, learnt from api_get_authorizer_info, to appID's authorisation record
// when the record lacks it. The write is conditional over the record read, so a record written
// meanwhile is never overwritten; every other field is kept as it is, including fields of a newer
// wxopen. Failures are ignored: the id is asked again at the next need. No record is created.
func (c *Client) keepOriginalID(ctx context.Context, appID, userName string) {
	if userName == "" {
		return
	}
	rec, stored, err := c.readRecordFields(ctx, appID)
	if err != nil || rec == nil {
		return
	}
	var have string
	if raw, ok := rec["user_name"]; ok && json.Unmarshal(raw, &have) == nil && have == userName {
		return
	}
	rec["user_name"], _ = json.Marshal(userName)
	b, err := json.Marshal(rec)
	if err != nil {
		return
	}
	_, _ = c.creds.CompareAndSwap(ctx, c.authorizerKey(appID, "authorization"), stored.Value,
		tokenstore.Token{Value: string(b), ExpiresAt: stored.ExpiresAt})
}
