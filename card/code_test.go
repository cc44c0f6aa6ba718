package card_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/card"
	"github.com/wxopen-go/wxopen/wxerr"
)

func TestGetCodeSendsAndDecodes(t *testing.T) {
	e := setup(t)
	n := e.expectPOST(t, "/card/code/get", `{"code":"110201201245","card_id":"pC","check_consume":true}`,
		`{"errcode":0,"errmsg":"ok","openid":"oU","card":{"card_id":"pC","begin_time":1700000000,"end_time":1800000000},
		"can_consume":true,"user_card_status":"NORMAL","outer_str":"till-3","unionid":"uU"}`)
	info, err := e.card(oaAppID).GetCode(context.Background(), card.CodeRequest{Code: "110201201245", CardID: "pC", CheckConsume: true})
	require.NoError(t, err)
	assert.EqualValues(t, 1, n.Load())
	assert.Equal(t, &card.CodeInfo{Code: "110201201245", CardID: "pC", OpenID: "oU", UnionID: "uU",
		BeginTime: time.Unix(1700000000, 0), EndTime: time.Unix(1800000000, 0), CanConsume: true,
		Status: card.StatusNormal, OuterStr: "till-3"}, info)
}

func TestGetCodeDecodesTheOldNestedShape(t *testing.T) {
	e := setup(t)
	// An old documented sample: state inside card, can_consume as a string; card_id left out of the
	// body when not given.
	e.expectPOST(t, "/card/code/get", `{"code":"C1"}`,
		`{"errcode":0,"errmsg":"ok","openid":"oU","card":{"card_id":"pC","begin_time":0,"end_time":0,
		"user_card_status":"CONSUMED","can_consume":"false"}}`)
	info, err := e.card(oaAppID).GetCode(context.Background(), card.CodeRequest{Code: "C1"})
	require.NoError(t, err)
	assert.Equal(t, card.StatusConsumed, info.Status)
	assert.False(t, info.CanConsume)
	assert.True(t, info.BeginTime.IsZero())

	e.expectPOST(t, "/card/code/get", `{"code":"C2"}`,
		`{"errcode":0,"errmsg":"ok","openid":"oU","card":{"card_id":"pC","can_consume":"true","user_card_status":"NORMAL"}}`)
	info, err = e.card(oaAppID).GetCode(context.Background(), card.CodeRequest{Code: "C2"})
	require.NoError(t, err)
	assert.True(t, info.CanConsume)
	assert.Equal(t, card.StatusNormal, info.Status)
}

func TestGetCodeWithoutCanConsumeFollowsTheStatus(t *testing.T) {
	e := setup(t)
	e.expectPOST(t, "/card/code/get", `{"code":"C1"}`, `{"errcode":0,"errmsg":"ok","openid":"oU","card":{"card_id":"pC"},"user_card_status":"NORMAL"}`)
	info, err := e.card(oaAppID).GetCode(context.Background(), card.CodeRequest{Code: "C1"})
	require.NoError(t, err)
	assert.True(t, info.CanConsume)
	e.expectPOST(t, "/card/code/get", `{"code":"C2"}`, `{"errcode":0,"errmsg":"ok","openid":"oU","card":{"card_id":"pC"},"user_card_status":"DELETE"}`)
	info, err = e.card(oaAppID).GetCode(context.Background(), card.CodeRequest{Code: "C2"})
	require.NoError(t, err)
	assert.False(t, info.CanConsume)
}

func TestGetCodeValidates(t *testing.T) {
	e := setup(t)
	_, err := e.card(oaAppID).GetCode(context.Background(), card.CodeRequest{})
	assert.True(t, wxerr.IsValidation(err))
	_, err = e.card(oaAppID).Consume(context.Background(), card.ConsumeRequest{CardID: "pC"})
	assert.True(t, wxerr.IsValidation(err))
	assert.Zero(t, e.mt.GetTotalCallCount())
}

const (
	codeNormalAnswer   = `{"errcode":0,"errmsg":"ok","openid":"oU","card":{"card_id":"pC"},"can_consume":true,"user_card_status":"NORMAL"}`
	codeConsumedAnswer = `{"errcode":0,"errmsg":"ok","openid":"oU","card":{"card_id":"pC"},"can_consume":false,"user_card_status":"CONSUMED"}`
)

// codeGetSequence answers code/get with answers in turn (the last one repeated).
func (e *env) codeGetSequence(t *testing.T, answers ...string) *int {
	n := new(int)
	e.mt.RegisterResponder("POST", base+"/card/code/get", func(r *http.Request) (*http.Response, error) {
		i := min(*n, len(answers)-1)
		*n++
		return httpmock.NewStringResponse(200, answers[i]), nil
	})
	return n
}

func TestConsumeSendsOneConsume(t *testing.T) {
	e := setup(t)
	reads := e.codeGetSequence(t, codeNormalAnswer)
	n := e.expectPOST(t, "/card/code/consume", `{"code":"C1","card_id":"pC"}`,
		`{"errcode":0,"errmsg":"ok","card":{"card_id":"pC"},"openid":"oU"}`)
	res, err := e.card(oaAppID).Consume(context.Background(), card.ConsumeRequest{Code: "C1", CardID: "pC"})
	require.NoError(t, err)
	assert.Equal(t, &card.ConsumeResult{Outcome: card.Consumed, Code: "C1", CardID: "pC", OpenID: "oU", Status: card.StatusConsumed}, res)
	assert.EqualValues(t, 1, n.Load())
	assert.Equal(t, 1, *reads, "one read before the consume")
}

func TestConsumeOfAConsumedCodeSendsNoConsume(t *testing.T) {
	e := setup(t)
	e.codeGetSequence(t, codeConsumedAnswer)
	n := e.expectPOST(t, "/card/code/consume", `{}`, `{}`)
	res, err := e.card(oaAppID).Consume(context.Background(), card.ConsumeRequest{Code: "C1"})
	require.ErrorIs(t, err, card.ErrAlreadyConsumed)
	assert.Equal(t, card.AlreadyConsumed, res.Outcome)
	assert.False(t, res.Settled)
	assert.Zero(t, n.Load())
}

func TestConsumeOfAnExpiredCodeSendsNoConsume(t *testing.T) {
	e := setup(t)
	e.codeGetSequence(t, `{"errcode":0,"errmsg":"ok","openid":"oU","card":{"card_id":"pC"},"can_consume":false,"user_card_status":"EXPIRE"}`)
	n := e.expectPOST(t, "/card/code/consume", `{}`, `{}`)
	res, err := e.card(oaAppID).Consume(context.Background(), card.ConsumeRequest{Code: "C1"})
	require.ErrorIs(t, err, card.ErrNotConsumable)
	assert.Equal(t, card.NotConsumed, res.Outcome)
	assert.Equal(t, card.StatusExpire, res.Status)
	assert.Zero(t, n.Load())
}

func TestConsumeRaceLostTo40099(t *testing.T) {
	e := setup(t)
	e.codeGetSequence(t, codeNormalAnswer)
	e.expectPOST(t, "/card/code/consume", `{"code":"C1"}`, `{"errcode":40099,"errmsg":"invalid code, this code has consumed."}`)
	res, err := e.card(oaAppID).Consume(context.Background(), card.ConsumeRequest{Code: "C1"})
	require.ErrorIs(t, err, card.ErrAlreadyConsumed)
	assert.Equal(t, wxerr.CodeCodeConsumed, wxerr.CodeOf(err), "WeChat's error is kept")
	assert.Equal(t, card.AlreadyConsumed, res.Outcome)
}

func TestConsumeRefusedByAnotherErrcode(t *testing.T) {
	e := setup(t)
	e.codeGetSequence(t, codeNormalAnswer)
	e.expectPOST(t, "/card/code/consume", `{"code":"C1"}`, `{"errcode":40127,"errmsg":"invalid user-card status"}`)
	res, err := e.card(oaAppID).Consume(context.Background(), card.ConsumeRequest{Code: "C1"})
	assert.Equal(t, wxerr.CodeUserCardStatus, wxerr.CodeOf(err))
	assert.Equal(t, card.NotConsumed, res.Outcome)
}

func TestConsumeFirstReadFailsNothingSent(t *testing.T) {
	e := setup(t)
	e.mt.RegisterResponder("POST", base+"/card/code/get", httpmock.NewStringResponder(200, `{"errcode":40056,"errmsg":"invalid serial code"}`))
	n := e.expectPOST(t, "/card/code/consume", `{}`, `{}`)
	res, err := e.card(oaAppID).Consume(context.Background(), card.ConsumeRequest{Code: "C1"})
	assert.Nil(t, res)
	assert.Equal(t, wxerr.CodeInvalidSerialCode, wxerr.CodeOf(err))
	assert.Zero(t, n.Load())
}

func TestConsumeLostAnswerSettledByReading(t *testing.T) {
	for _, tc := range []struct {
		name    string
		after   string
		outcome card.ConsumeOutcome
		status  card.UserCardStatus
		errIs   error
	}{
		{"consumed", codeConsumedAnswer, card.Consumed, card.StatusConsumed, nil},
		{"still normal", codeNormalAnswer, card.NotConsumed, card.StatusNormal, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			reads := e.codeGetSequence(t, codeNormalAnswer, tc.after)
			e.mt.RegisterResponder("POST", base+"/card/code/consume", httpmock.NewErrorResponder(errors.New("connection reset by peer")))
			res, err := e.card(oaAppID).Consume(context.Background(), card.ConsumeRequest{Code: "C1"})
			if tc.outcome == card.Consumed {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "not consumed")
			}
			assert.Equal(t, tc.outcome, res.Outcome)
			assert.Equal(t, tc.status, res.Status)
			assert.True(t, res.Settled)
			assert.Equal(t, 1, e.mt.GetCallCountInfo()["POST "+base+"/card/code/consume"], "the consume is never sent twice")
			assert.Equal(t, 2, *reads)
		})
	}
}

// TestConsumeSystemBusySettledByReading: -1 does not say whether the consume was done; it is
// settled like a lost answer, and the consume is not resent (a write is never retried after -1).
func TestConsumeSystemBusySettledByReading(t *testing.T) {
	e := setup(t)
	reads := e.codeGetSequence(t, codeNormalAnswer, codeConsumedAnswer)
	e.expectPOST(t, "/card/code/consume", `{"code":"C1"}`, `{"errcode":-1,"errmsg":"system error"}`)
	res, err := e.card(oaAppID).Consume(context.Background(), card.ConsumeRequest{Code: "C1"})
	require.NoError(t, err)
	assert.Equal(t, card.Consumed, res.Outcome)
	assert.True(t, res.Settled)
	assert.Equal(t, 1, e.mt.GetCallCountInfo()["POST "+base+"/card/code/consume"])
	assert.Equal(t, 2, *reads)
}

func TestConsumeLostAnswerAndFailedReadIsUnknown(t *testing.T) {
	e := setup(t)
	first := true
	e.mt.RegisterResponder("POST", base+"/card/code/get", func(r *http.Request) (*http.Response, error) {
		if first {
			first = false
			return httpmock.NewStringResponse(200, codeNormalAnswer), nil
		}
		return nil, errors.New("network unreachable")
	})
	e.mt.RegisterResponder("POST", base+"/card/code/consume", httpmock.NewErrorResponder(errors.New("connection reset by peer")))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := e.card(oaAppID).Consume(ctx, card.ConsumeRequest{Code: "C1"})
	require.ErrorIs(t, err, card.ErrConsumeUnknown)
	assert.Equal(t, card.ConsumeUnknown, res.Outcome)
	assert.Contains(t, err.Error(), "connection reset by peer")
	assert.Contains(t, err.Error(), "network unreachable")
	assert.Equal(t, 1, e.mt.GetCallCountInfo()["POST "+base+"/card/code/consume"])
}

func TestConsumeOutcomeString(t *testing.T) {
	assert.Equal(t, "consumed", card.Consumed.String())
	assert.Equal(t, "already consumed", card.AlreadyConsumed.String())
	assert.Equal(t, "not consumed", card.NotConsumed.String())
	assert.Equal(t, "unknown", card.ConsumeUnknown.String())
}
