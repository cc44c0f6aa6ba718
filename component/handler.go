package component

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/wxopen-go/wxopen/tokenstore"
)

// Defaults of the push handlers.
const (
	// DefaultMaxBodyBytes caps a push body; WeChat's pushes are a few KiB.
	DefaultMaxBodyBytes = 64 << 10
	// DefaultMaxClockSkew is how far a push's timestamp may be from the handler's clock.
	DefaultMaxClockSkew = 10 * time.Minute
)

// recentTTL is how long, at least, a handled push (and an exchanged authorisation code) is
// remembered in the credential store, so that a replay is answered without acting twice. With a timestamp window the memory
// lasts twice the window and a minute more: a push whose timestamp runs up to MaxClockSkew ahead of
// the handler's clock is accepted for up to twice MaxClockSkew after it first arrives.
const recentTTL = 15 * time.Minute

// dispatchTimeout bounds the handling of one push (store writes, api_query_auth, the callback).
const dispatchTimeout = time.Minute

// HandlerConfig configures Handler. Every callback is optional. A callback that returns an error
// makes the handler answer HTTP 500, so that WeChat pushes the event again (it retries a few times);
// automatic steps already done (a stored ticket, exchanged tokens, dropped tokens) are not undone, and
// a retried authorisation reuses the exchange already made.
type HandlerConfig struct {
	// OnVerifyTicket runs after the ticket is stored.
	OnVerifyTicket func(context.Context, *VerifyTicketEvent) error
	// OnAuthorized runs after the authorisation code was exchanged and the tokens stored (unless
	// ManualQueryAuth).
	OnAuthorized func(context.Context, *AuthorizedEvent) error
	// OnUpdateAuthorized is OnAuthorized for updateauthorized.
	OnUpdateAuthorized func(context.Context, *UpdateAuthorizedEvent) error
	// OnUnauthorized runs after the account's tokens and record were dropped.
	OnUnauthorized func(context.Context, *UnauthorizedEvent) error
	// OnFastRegister runs after a successful registration's code was exchanged (unless
	// ManualQueryAuth).
	OnFastRegister func(context.Context, *FastRegisterEvent) error
	// OnICPVerifyResult and OnICPFilingResult receive the ICP filing pushes (events_icp.go), which
	// WeChat may send to either URL: give MessageHandlerConfig the same callbacks.
	OnICPVerifyResult func(context.Context, *ICPVerifyResultEvent) error
	OnICPFilingResult func(context.Context, *ICPFilingResultEvent) error
	// OnVerification, OnVerifyExpiry and OnAuthAndICP receive the WeChat verification pushes
	// (events_icp.go), on either URL.
	OnVerification func(context.Context, *VerificationEvent) error
	OnVerifyExpiry func(context.Context, *VerifyExpiryEvent) error
	OnAuthAndICP   func(context.Context, *AuthAndICPEvent) error
	// OnBetaRegister and OnBetaVerify receive the trial registration route's pushes
	// (events_registration.go).
	OnBetaRegister func(context.Context, *BetaRegisterEvent) error
	OnBetaVerify   func(context.Context, *BetaVerifyEvent) error
	// OnOther receives every push whose InfoType wxopen does not type.
	OnOther func(context.Context, *PlatformEvent) error

	// ManualQueryAuth turns off the automatic exchange of authorisation codes (authorized,
	// updateauthorized, successful notify_third_fasteregister). By default the handler calls
	// QueryAuth before the callback, so the refresh token is stored even if no callback is set:
	// a refresh token that is never stored means the merchant must authorise again.
	ManualQueryAuth bool

	// MaxBodyBytes caps the request body (default DefaultMaxBodyBytes); larger bodies get 413.
	MaxBodyBytes int64
	// MaxClockSkew is how far the timestamp query parameter may be from Now (default
	// DefaultMaxClockSkew); further pushes get 400. A negative value turns the check off, and with it
	// the protection against replays more than 15 minutes old.
	MaxClockSkew time.Duration
	// Now is WeChat's clock as the handler sees it (default time.Now). Set it to the emulator's clock
	// (wxtest Server.Now) when its clock does not follow real time.
	Now func() time.Time
	// Logger receives one line per refused or failed push (default: the Client's logger, if any).
	Logger *slog.Logger
}

// Handler is the http.Handler for the platform's authorisation event URL. It answers a POST push
// only after checking the body size, the timestamp window and msg_signature (constant time), and
// decrypting it (appid checked); it then stores what the push carries and calls the configured
// callback, and answers "success". Handling runs with the request's context values but not its
// cancellation (WeChat hangs up after about 5 seconds; a credential write must not be cut short), for
// at most a minute; concurrent deliveries of the same push to one instance share one handling. A push
// is claimed in the credential store before it is handled (a compare-and-swap over nothing, held for
// WeChat's 5-second answer window), and remembered as handled once it was handled successfully, for at
// least twice the timestamp window. So a retry or replay at any instance sharing that store is
// answered without acting again, and a delivery that arrives at another instance while the push is
// being handled waits for that outcome: success, or the push released by a failed handling (it then
// handles the push), or the claim lapsed (a holder that died, or that took longer than WeChat waits).
// Only a handling slower than the answer window can run alongside another; the credential writes stay
// correct even then (authorisation events are ordered and written conditionally). GET requests with signature and echostr (URL verification) are
// answered with echostr. Status codes:
//
//	200 success  handled, or a replay of a push already handled
//	400          missing parameters, stale timestamp, malformed or undecryptable body
//	401          bad signature
//	405          a method other than GET and POST
//	413          body larger than MaxBodyBytes
//	500          a store or WeChat call failed, or a callback returned an error: WeChat will retry
//
// Nothing is stored when a push is refused with a 4xx.
type Handler struct {
	rcv receiver
	cfg HandlerConfig
}

// NewHandler returns the Handler for c's authorisation event URL.
func NewHandler(c *Client, cfg HandlerConfig) (*Handler, error) {
	rcv, err := newReceiver(c, cfg.MaxBodyBytes, cfg.MaxClockSkew, cfg.Now, cfg.Logger)
	if err != nil {
		return nil, err
	}
	return &Handler{rcv: rcv, cfg: cfg}, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.rcv.serve(w, r, h.dispatch)
}

func (h *Handler) dispatch(ctx context.Context, plain []byte) error {
	var x platformXML
	if err := decodePlatformXML(plain, &x); err != nil {
		return badRequest("malformed event XML: " + err.Error())
	}
	c := h.rcv.c
	if x.AppID != "" && x.AppID != c.appID {
		return badRequest("event AppId is not this platform's")
	}
	if x.InfoType == "" {
		return badRequest("event has no InfoType")
	}
	base := PlatformEvent{AppID: x.AppID, CreateTime: unixTime(x.CreateTime), InfoType: InfoType(x.InfoType), Raw: plain}
	at := base.CreateTime // the event's time, which orders authorisation events
	if at.IsZero() {
		at = h.rcv.now()
	}
	ctx = tokenstore.WithReason(ctx, pushReason(x.InfoType))
	switch InfoType(x.InfoType) {
	case InfoTypeVerifyTicket:
		if x.ComponentVerifyTicket == "" {
			return badRequest("component_verify_ticket push without ComponentVerifyTicket")
		}
		ev := &VerifyTicketEvent{PlatformEvent: base, Ticket: x.ComponentVerifyTicket}
		age := time.Duration(0)
		if x.CreateTime > 0 {
			age = max(h.rcv.now().Sub(base.CreateTime), 0)
		}
		if age < VerifyTicketTTL {
			stored, err := c.storeVerifyTicket(ctx, ev.Ticket, c.now().Add(VerifyTicketTTL-age))
			if err != nil {
				return err
			}
			ev.Stored = stored
		} else {
			h.rcv.warn(ctx, "component_verify_ticket push older than its lifetime; not stored", slog.Duration("age", age))
		}
		return call(ctx, h.cfg.OnVerifyTicket, ev)

	case InfoTypeAuthorized, InfoTypeUpdateAuthorized:
		if x.AuthorizerAppid == "" {
			return badRequest(x.InfoType + " push without AuthorizerAppid")
		}
		ev := &AuthorizedEvent{
			PlatformEvent: base, AuthorizerAppID: x.AuthorizerAppid, AuthorizationCode: x.AuthorizationCode,
			AuthorizationCodeExpiredTime: codeExpiry(x.AuthorizationCodeExpiredTime, at), PreAuthCode: x.PreAuthCode,
		}
		if !h.cfg.ManualQueryAuth && x.AuthorizationCode != "" {
			a, err := h.rcv.exchange(ctx, x.AuthorizationCode, x.AuthorizerAppid, at)
			switch {
			case errors.Is(err, errSuperseded):
				ev.Superseded = true
			case err != nil:
				return err
			}
			ev.Authorization = a
		}
		if InfoType(x.InfoType) == InfoTypeAuthorized {
			return call(ctx, h.cfg.OnAuthorized, ev)
		}
		return call(ctx, h.cfg.OnUpdateAuthorized, (*UpdateAuthorizedEvent)(ev))

	case InfoTypeUnauthorized:
		if x.AuthorizerAppid == "" {
			return badRequest("unauthorized push without AuthorizerAppid")
		}
		applied, err := c.forget(ctx, x.AuthorizerAppid, at, false)
		if err != nil {
			return err
		}
		return call(ctx, h.cfg.OnUnauthorized, &UnauthorizedEvent{PlatformEvent: base, AuthorizerAppID: x.AuthorizerAppid, Superseded: !applied})

	case InfoTypeFastRegister:
		ev := &FastRegisterEvent{
			PlatformEvent: base, MiniProgramAppID: x.RegAppID, Status: x.Status, AuthCode: x.AuthCode,
			Msg: x.Msg, Info: x.Info, TaskID: x.TaskID,
		}
		if !h.cfg.ManualQueryAuth && ev.Succeeded() && ev.AuthCode != "" {
			a, err := h.rcv.exchange(ctx, ev.AuthCode, ev.MiniProgramAppID, at)
			if err != nil && !errors.Is(err, errSuperseded) {
				return err
			}
			ev.Authorization = a
		}
		return call(ctx, h.cfg.OnFastRegister, ev)
	}
	if handled, err := h.dispatchRegistration(ctx, &base, plain); handled {
		return err
	}
	if twoURLPush(x.InfoType) {
		return dispatchTwoURL(ctx, x.InfoType, PushSource{Platform: &base}, plain, h.cfg.twoURL())
	}
	return call(ctx, h.cfg.OnOther, &base)
}

// pushReason is the store-write reason of a platform push: "push:" and its InfoType (a constant for
// the known ones, so that a push allocates no string for it).
func pushReason(infoType string) string {
	switch InfoType(infoType) {
	case InfoTypeVerifyTicket:
		return "push:" + string(InfoTypeVerifyTicket)
	case InfoTypeAuthorized:
		return "push:" + string(InfoTypeAuthorized)
	case InfoTypeUpdateAuthorized:
		return "push:" + string(InfoTypeUpdateAuthorized)
	case InfoTypeUnauthorized:
		return "push:" + string(InfoTypeUnauthorized)
	case InfoTypeFastRegister:
		return "push:" + string(InfoTypeFastRegister)
	}
	return "push:" + infoType
}
