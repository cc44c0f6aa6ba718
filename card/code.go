package card

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wxopen-go/wxopen/wxerr"
)

// CodeRequest names a card code for GetCode.
type CodeRequest struct {
	// Code is the card code (see DecryptCode). Required.
	Code string `json:"code"`
	// CardID is required for cards with custom codes (BaseInfo.UseCustomCode).
	CardID string `json:"card_id,omitempty"`
	// CheckConsume makes WeChat answer an error when the code cannot be consumed now.
	CheckConsume bool `json:"check_consume,omitempty"`
}

// CodeInfo is a card code as WeChat knows it: who holds it, its validity and its state.
type CodeInfo struct {
	Code   string
	CardID string
	OpenID string
	// UnionID is set when the official account is bound to an open platform account.
	UnionID string
	// BeginTime and EndTime bound the code's validity (zero when WeChat sends none).
	BeginTime, EndTime time.Time
	// CanConsume reports whether the code can be consumed now (when WeChat does not say, whether
	// Status is StatusNormal).
	CanConsume bool
	// Status is the state of the user's card: StatusNormal, StatusConsumed, StatusExpire,
	// StatusDelete...
	Status UserCardStatus
	// OuterStr is the channel tag the card was taken with (cardExt, QR code).
	OuterStr string
}

// flexBool decodes true, false, "true", "false", 1 and 0: an old documented sample sends
// can_consume as a string.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "true", `"true"`, "1", `"1"`:
		*b = true
	case "false", `"false"`, "0", `"0"`, "null", `""`:
		*b = false
	default:
		return fmt.Errorf("card: %s is not a boolean", data)
	}
	return nil
}

// codeAnswer is code/get's answer. user_card_status and can_consume come at the top level, or,
// in an old documented sample, inside card: both are read.
type codeAnswer struct {
	OpenID string `json:"openid"`
	Card   struct {
		CardID         string         `json:"card_id"`
		BeginTime      int64          `json:"begin_time"`
		EndTime        int64          `json:"end_time"`
		UserCardStatus UserCardStatus `json:"user_card_status"`
		CanConsume     *flexBool      `json:"can_consume"`
	} `json:"card"`
	UserCardStatus UserCardStatus `json:"user_card_status"`
	CanConsume     *flexBool      `json:"can_consume"`
	OuterStr       string         `json:"outer_str"`
	UnionID        string         `json:"unionid"`
}

// GetCode returns who holds the code, its validity and its state. With CheckConsume, WeChat answers
// an error (40099 consumed, 40127 expired or deleted...) for a code that cannot be consumed now.
//
// WeChat: POST /card/code/get
func (c *Client) GetCode(ctx context.Context, req CodeRequest) (*CodeInfo, error) {
	if req.Code == "" {
		return nil, wxerr.Invalid("code", "required")
	}
	var out codeAnswer
	if err := c.post(ctx, "/card/code/get", req, true, &out); err != nil {
		return nil, err
	}
	info := &CodeInfo{Code: req.Code, CardID: out.Card.CardID, OpenID: out.OpenID, UnionID: out.UnionID,
		BeginTime: unixOrZero(out.Card.BeginTime), EndTime: unixOrZero(out.Card.EndTime),
		Status: out.UserCardStatus, OuterStr: out.OuterStr}
	if info.Status == "" {
		info.Status = out.Card.UserCardStatus
	}
	switch {
	case out.CanConsume != nil:
		info.CanConsume = bool(*out.CanConsume)
	case out.Card.CanConsume != nil:
		info.CanConsume = bool(*out.Card.CanConsume)
	default: // not sent: a NORMAL code is consumable
		info.CanConsume = info.Status == StatusNormal
	}
	if info.CardID == "" {
		info.CardID = req.CardID
	}
	return info, nil
}

// validity describes the span a code can be consumed in.
func validity(i *CodeInfo) string {
	f := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	return "from " + f(i.BeginTime) + " to " + f(i.EndTime)
}

func unixOrZero(s int64) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}

// ConsumeRequest names the code Consume redeems.
type ConsumeRequest struct {
	// Code is the card code the member shows. Required.
	Code string `json:"code"`
	// CardID is required for cards with custom codes.
	CardID string `json:"card_id,omitempty"`
}

// ConsumeOutcome is what Consume knows happened to a code.
type ConsumeOutcome int

// Consume outcomes.
const (
	// ConsumeUnknown: the consume was sent, its answer was lost, and the code's state could not be
	// read afterwards. Read it with GetCode before doing anything else; never consume again blindly.
	ConsumeUnknown ConsumeOutcome = iota
	// Consumed: this call consumed the code.
	Consumed
	// AlreadyConsumed: the code had been consumed before this call; this call consumed nothing.
	AlreadyConsumed
	// NotConsumed: the code was not consumed and is not consumed now (it cannot be: expired,
	// deleted, unavailable...; or WeChat refused the consume).
	NotConsumed
)

// String returns the outcome's name.
func (o ConsumeOutcome) String() string {
	switch o {
	case Consumed:
		return "consumed"
	case AlreadyConsumed:
		return "already consumed"
	case NotConsumed:
		return "not consumed"
	}
	return "unknown"
}

// ConsumeResult is what Consume did.
type ConsumeResult struct {
	Outcome ConsumeOutcome
	Code    string
	CardID  string
	// OpenID is the member who holds the code.
	OpenID string
	// Status is the code's state as last read or set (StatusConsumed after a consume).
	Status UserCardStatus
	// Settled is true when the consume's answer was lost and Outcome comes from reading the code
	// afterwards (code/get).
	Settled bool
}

// Errors Consume returns with its result, for errors.Is.
var (
	// ErrAlreadyConsumed: the code had been consumed before (Outcome AlreadyConsumed).
	ErrAlreadyConsumed = errors.New("card: the code was already consumed")
	// ErrNotConsumable: the code cannot be consumed in its state (Outcome NotConsumed).
	ErrNotConsumable = errors.New("card: the code cannot be consumed")
	// ErrConsumeUnknown: the consume's outcome is unknown (Outcome ConsumeUnknown).
	ErrConsumeUnknown = errors.New("card: the consume's outcome is unknown")
)

// settleTimeout bounds the reading of a code whose consume answer was lost; the read runs even when
// the caller's context is done, because the caller needs the truth.
const settleTimeout = 10 * time.Second

// Consume redeems a code at the till, at most once. It reads the code first (code/get): a code
// consumed before is reported AlreadyConsumed, one that cannot be consumed (expired, deleted...)
// NotConsumed, and in both cases no consume is sent. Otherwise it sends one consume, never retried:
//   - WeChat's success answer: Consumed, nil error — the only case with a nil error;
//   - 40099 (another till consumed it in between): AlreadyConsumed, ErrAlreadyConsumed;
//   - another errcode: NotConsumed and the *wxerr.APIError;
//   - no answer (connection lost, timeout, 5xx) or -1 (system busy, which does not say whether the
//     consume was done): the code is read again and the result Settled.
//     CONSUMED then means this call consumed it (the code was consumable just before; only a consume
//     of the same code by another caller in that instant could also explain it) and gives Consumed
//     with a nil error; another state gives NotConsumed and the transport error (Consume may be
//     called again); a failed read gives ConsumeUnknown and ErrConsumeUnknown.
//
// The result is nil only when nothing was sent (bad input, or the first read failed).
//
// WeChat: POST /card/code/consume
func (c *Client) Consume(ctx context.Context, req ConsumeRequest) (*ConsumeResult, error) {
	if req.Code == "" {
		return nil, wxerr.Invalid("code", "required")
	}
	before, err := c.GetCode(ctx, CodeRequest{Code: req.Code, CardID: req.CardID})
	if err != nil {
		return nil, err
	}
	res := &ConsumeResult{Code: req.Code, CardID: before.CardID, OpenID: before.OpenID, Status: before.Status}
	switch {
	case before.Status == StatusConsumed:
		res.Outcome = AlreadyConsumed
		return res, ErrAlreadyConsumed
	case !before.CanConsume && before.Status == StatusNormal:
		res.Outcome = NotConsumed
		return res, fmt.Errorf("%w now: outside its validity (%s)", ErrNotConsumable, validity(before))
	case !before.CanConsume:
		res.Outcome = NotConsumed
		return res, fmt.Errorf("%w: its state is %s", ErrNotConsumable, before.Status)
	}
	var out struct {
		OpenID string `json:"openid"`
		Card   struct {
			CardID string `json:"card_id"`
		} `json:"card"`
	}
	err = c.post(ctx, "/card/code/consume", req, false, &out)
	if err == nil {
		res.Outcome, res.Status = Consumed, StatusConsumed
		if out.Card.CardID != "" {
			res.CardID = out.Card.CardID
		}
		if out.OpenID != "" {
			res.OpenID = out.OpenID
		}
		return res, nil
	}
	if wxerr.CodeOf(err) == wxerr.CodeCodeConsumed {
		res.Outcome, res.Status = AlreadyConsumed, StatusConsumed
		return res, fmt.Errorf("%w: %w", ErrAlreadyConsumed, err)
	}
	var apiErr *wxerr.APIError
	if errors.As(err, &apiErr) && !wxerr.IsTemporary(err) {
		res.Outcome = NotConsumed
		return res, err
	}
	// The answer was lost, or was WeChat's -1 (system busy: the consume may have been done): settle
	// by reading the code, never by consuming again.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	after, rerr := c.GetCode(sctx, CodeRequest{Code: req.Code, CardID: req.CardID})
	if rerr != nil {
		res.Outcome = ConsumeUnknown
		return res, fmt.Errorf("%w: consume: %w; reading the code afterwards: %w", ErrConsumeUnknown, err, rerr)
	}
	res.Settled, res.Status = true, after.Status
	if after.Status == StatusConsumed {
		res.Outcome = Consumed
		return res, nil
	}
	res.Outcome = NotConsumed
	return res, fmt.Errorf("card: the consume's answer was lost and the code is still %s (not consumed): %w", after.Status, err)
}
