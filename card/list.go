package card

import (
	"context"
	"iter"
	"strconv"

	"github.com/wxopen-go/wxopen/wxerr"
)

// State is the state of a card itself (in review, approved, deleted...), as card/batchget filters
// it and card/get reports it in BaseInfo.Status.
type State string

// Card states.
const (
	StateNotVerify  State = "CARD_STATUS_NOT_VERIFY"
	StateVerifyFail State = "CARD_STATUS_VERIFY_FAIL"
	StateVerifyOK   State = "CARD_STATUS_VERIFY_OK"
	StateDelete     State = "CARD_STATUS_DELETE"
	StateDispatch   State = "CARD_STATUS_DISPATCH"
)

// Valid reports whether s is one of WeChat's card states.
func (s State) Valid() bool {
	switch s {
	case StateNotVerify, StateVerifyFail, StateVerifyOK, StateDelete, StateDispatch:
		return true
	}
	return false
}

// MaxListCount is the largest page card/batchget answers.
const MaxListCount = 50

// ListRequest is one page of the account's cards.
type ListRequest struct {
	// Offset is the position of the first card, from 0.
	Offset int `json:"offset"`
	// Count is the page size, 1 to MaxListCount.
	Count int `json:"count"`
	// StatusList keeps only the cards in these states (all cards when empty).
	StatusList []State `json:"status_list,omitempty"`
}

func (r *ListRequest) validate() error {
	if r.Offset < 0 {
		return wxerr.Invalid("offset", "0 or more")
	}
	if r.Count < 1 || r.Count > MaxListCount {
		return wxerr.Invalid("count", "1 to "+strconv.Itoa(MaxListCount))
	}
	for _, s := range r.StatusList {
		if !s.Valid() {
			return wxerr.Invalid("status_list", "CARD_STATUS_* values (see the State constants), not "+string(s))
		}
	}
	return nil
}

// ListResult is a page of card ids.
type ListResult struct {
	CardIDs []string `json:"card_id_list"`
	// TotalNum is how many cards match, over all pages.
	TotalNum int `json:"total_num"`
}

// List returns a page of the ids of the account's cards.
//
// WeChat: POST /card/batchget
func (c *Client) List(ctx context.Context, req ListRequest) (*ListResult, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	var out ListResult
	if err := c.post(ctx, "/card/batchget", req, true, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// All walks every page of List (MaxListCount per request) and yields each card id, keeping only
// the cards in statuses when any are given. An error is yielded once, with an empty id, and ends
// the walk. Cards created or deleted during the walk may shift the pages.
//
// WeChat: POST /card/batchget
func (c *Client) All(ctx context.Context, statuses ...State) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		offset := 0
		for {
			page, err := c.List(ctx, ListRequest{Offset: offset, Count: MaxListCount, StatusList: statuses})
			if err != nil {
				yield("", err)
				return
			}
			for _, id := range page.CardIDs {
				if !yield(id, nil) {
					return
				}
			}
			offset += len(page.CardIDs)
			if len(page.CardIDs) == 0 || offset >= page.TotalNum {
				return
			}
		}
	}
}

// Delete deletes the card cardID. It cannot be undone: the codes users hold become unusable.
//
// WeChat: POST /card/delete
func (c *Client) Delete(ctx context.Context, cardID string) error {
	if cardID == "" {
		return wxerr.Invalid("card_id", "required")
	}
	return c.post(ctx, "/card/delete", map[string]string{"card_id": cardID}, false, nil)
}

// ModifyStock changes the stock (BaseInfo.Sku.Quantity) of cardID by delta: positive adds cards,
// negative removes them. It is never retried automatically (it is not idempotent).
//
// WeChat: POST /card/modifystock
func (c *Client) ModifyStock(ctx context.Context, cardID string, delta int64) error {
	if cardID == "" {
		return wxerr.Invalid("card_id", "required")
	}
	body := struct {
		CardID   string `json:"card_id"`
		Increase int64  `json:"increase_stock_value,omitempty"`
		Reduce   int64  `json:"reduce_stock_value,omitempty"`
	}{CardID: cardID}
	switch {
	case delta > 0:
		body.Increase = delta
	case delta < 0:
		body.Reduce = -delta
	default:
		return wxerr.Invalid("delta", "not 0: positive adds stock, negative removes it")
	}
	return c.post(ctx, "/card/modifystock", body, false, nil)
}

// SetPayCell shows (open) or hides the card on the WeChat Pay result page of the account's stores.
// The card must be bound to stores (BaseInfo.LocationIDList or UseAllLocations).
//
// WeChat: POST /card/paycell/set
func (c *Client) SetPayCell(ctx context.Context, cardID string, open bool) error {
	if cardID == "" {
		return wxerr.Invalid("card_id", "required")
	}
	body := struct {
		CardID string `json:"card_id"`
		IsOpen bool   `json:"is_open"`
	}{cardID, open}
	return c.post(ctx, "/card/paycell/set", body, false, nil)
}
