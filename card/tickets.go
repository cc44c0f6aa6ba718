package card

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxcall"
)

// TicketName is the name under which an authorizer's card api_ticket is stored: the store key is
// authorizer.Key(componentAppID, appID, TicketName).
const TicketName = "wx_card_ticket"

// ticketReason annotates the store write of a freshly fetched ticket (see tokenstore.WithReason).
const ticketReason = "getticket:wx_card"

// Tickets hands out the card api_ticket (type wx_card) of each authorised official account. WeChat
// allows very few getticket calls a day, so a platform builds one Tickets and shares it among all its
// card Clients: a ticket is kept in the Store, refreshed ahead of its expiry (7200 s), and fetched
// once per expiry however many goroutines ask (and, if the Store is a tokenstore.Locker such as
// Redis, once across processes).
type Tickets struct {
	mgr    *tokenstore.Manager
	client func(appID string) *authorizer.Client
}

// NewTickets returns the ticket cache of a platform. store holds the tickets (an expiring-token
// store: the platform's token store; nil means a new in-memory store). client returns the authorizer client of an appid (the
// platform's Authorizer method); it is called only to fetch a ticket. opts tune the
// tokenstore.Manager (margin, jitter, clock for tests...); one given an invalid value is an error.
func NewTickets(store tokenstore.Store, client func(appID string) *authorizer.Client, opts ...tokenstore.Option) (*Tickets, error) {
	t := &Tickets{client: client}
	if store == nil {
		store = tokenstore.NewMemoryStore()
	}
	all := make([]tokenstore.Option, 0, len(opts)+1)
	if l, ok := store.(tokenstore.Locker); ok {
		all = append(all, tokenstore.WithLocker(l)) // kept through the reason wrapper; opts may override
	}
	all = append(all, opts...)
	mgr, err := tokenstore.NewManager(reasonStore{store}, t.fetch, all...)
	if err != nil {
		return nil, fmt.Errorf("card: %w", err)
	}
	t.mgr = mgr
	return t, nil
}

// Ticket returns the current api_ticket of the official account appID, fetching it if needed.
//
// WeChat: GET /cgi-bin/ticket/getticket?type=wx_card
func (t *Tickets) Ticket(ctx context.Context, appID string) (tokenstore.Token, error) {
	if t == nil || t.client == nil {
		return tokenstore.Token{}, errors.New("card: Tickets built without an authorizer client function")
	}
	a := t.client(appID)
	if a == nil {
		return tokenstore.Token{}, fmt.Errorf("card: no authorizer client for %s", appID)
	}
	return t.source(a).Token(ctx)
}

// Forget drops the ticket of the official account appID from the store and from memory, for an
// account that revoked its authorisation (wxopen.Platform's Handler calls it on an unauthorized
// push). A card Client of the account built before goes on working if the account authorises again.
func (t *Tickets) Forget(ctx context.Context, appID string) error {
	if t == nil || t.client == nil {
		return errors.New("card: Tickets built without an authorizer client function")
	}
	a := t.client(appID)
	if a == nil {
		return fmt.Errorf("card: no authorizer client for %s", appID)
	}
	return t.mgr.Delete(ctx, a.Key(TicketName))
}

// source returns the handle of a's ticket. The key is built in a buffer of its own: finding a known
// account's handle does not allocate.
func (t *Tickets) source(a *authorizer.Client) *tokenstore.Source {
	var buf [128]byte
	return t.mgr.SourceBytes(authorizer.AppendKey(buf[:0], a.Component().AppID, a.AppID(), TicketName))
}

type ticketResponse struct {
	Ticket    string `json:"ticket"`
	ExpiresIn int64  `json:"expires_in"`
}

// fetch is the Manager's Fetcher: GET /cgi-bin/ticket/getticket?type=wx_card with the authorizer's
// access token.
func (t *Tickets) fetch(ctx context.Context, key string) (tokenstore.Token, error) {
	_, appID, name, ok := authorizer.ParseKey(key)
	if !ok || name != TicketName {
		return tokenstore.Token{}, fmt.Errorf("card: %q is not a card ticket key", key)
	}
	if t.client == nil {
		return tokenstore.Token{}, errors.New("card: Tickets built without an authorizer client function")
	}
	a := t.client(appID)
	if a == nil {
		return tokenstore.Token{}, fmt.Errorf("card: no authorizer client for %s", appID)
	}
	start := t.mgr.Now() // the Manager's clock (wxopen.WithClock in tests)
	var out ticketResponse
	err := a.Call(ctx, &wxcall.Request{
		Method:     "GET",
		Path:       "/cgi-bin/ticket/getticket",
		Query:      url.Values{"type": {"wx_card"}},
		Idempotent: true,
	}, &out)
	if err != nil {
		return tokenstore.Token{}, fmt.Errorf("card: api_ticket of %s: %w", appID, err)
	}
	if out.Ticket == "" {
		return tokenstore.Token{}, fmt.Errorf("card: api_ticket of %s: WeChat answered no ticket", appID)
	}
	life := time.Duration(out.ExpiresIn) * time.Second
	if life <= 0 {
		life = 7200 * time.Second
	}
	// Count the lifetime from before the request, so that the network time never extends it.
	return tokenstore.Token{Value: out.Ticket, ExpiresAt: start.Add(life)}, nil
}

// reasonStore annotates the writes of fetched tickets with a reason for auditing stores.
type reasonStore struct{ tokenstore.Store }

func (s reasonStore) Set(ctx context.Context, key string, tok tokenstore.Token) error {
	if tokenstore.Reason(ctx) == "" {
		ctx = tokenstore.WithReason(ctx, ticketReason)
	}
	return s.Store.Set(ctx, key, tok)
}
