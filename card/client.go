package card

import (
	"context"
	"errors"
	"fmt"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxcall"
)

// Client calls the card APIs of one official account that owns cards, with its authorizer access
// token. It is a cheap value: build one per call if convenient. It is safe for concurrent use.
type Client struct {
	a       *authorizer.Client
	ticket  *tokenstore.Source  // nil without Tickets
	tickets *tokenstore.Manager // its clock times cardExt signatures (wxopen.WithClock); nil without Tickets
}

// New returns the card client of the official account a, taking api_tickets from t (the platform's
// shared Tickets; nil disables APITicket and CardExt). A nil a yields a client whose calls fail.
func New(a *authorizer.Client, t *Tickets) *Client {
	c := &Client{a: a}
	if a != nil && t != nil {
		c.ticket, c.tickets = t.source(a), t.mgr
	}
	return c
}

// AppID returns the appid of the official account the client acts for.
func (c *Client) AppID() string {
	if c.a == nil {
		return ""
	}
	return c.a.AppID()
}

var (
	errNoAuthorizer = errors.New("card: client built without an authorizer client")
	errNoTickets    = errors.New("card: client built without Tickets: no api_ticket")
)

// APITicket returns the account's card api_ticket (type wx_card), from the shared cache; it is fetched
// only when missing or due for refresh.
//
// WeChat: GET /cgi-bin/ticket/getticket?type=wx_card
func (c *Client) APITicket(ctx context.Context) (string, error) {
	if c.ticket == nil {
		if c.a == nil {
			return "", errNoAuthorizer
		}
		return "", errNoTickets
	}
	tok, err := c.ticket.Token(ctx)
	if err != nil {
		return "", err
	}
	return tok.Value, nil
}

// InvalidateAPITicket drops the cached api_ticket if it is still stale (the value a signature was
// refused with), so that the next APITicket fetches a new one. A newer ticket is kept.
func (c *Client) InvalidateAPITicket(ctx context.Context, stale string) error {
	if c.ticket == nil {
		return errNoTickets
	}
	return c.ticket.Invalidate(ctx, stale)
}

// post sends one JSON request with the account's access token.
func (c *Client) post(ctx context.Context, path string, body any, idempotent bool, out any) error {
	return c.call(ctx, &wxcall.Request{Method: "POST", Path: path, Body: body, Idempotent: idempotent}, out)
}

// call sends req with the account's access token.
func (c *Client) call(ctx context.Context, req *wxcall.Request, out any) error {
	if c.a == nil {
		return errNoAuthorizer
	}
	if err := c.a.Call(ctx, req, out); err != nil {
		return fmt.Errorf("card: %w", err)
	}
	return nil
}
