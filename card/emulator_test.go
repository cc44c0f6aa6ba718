package card_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/card"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/wxerr"
	"github.com/wxopen-go/wxopen/wxtest"
)

// emu is a wxopen.Platform pointed at the wxtest emulator, its push handler serving the emulator's
// event URLs, and the card wiring a Platform's Card(appid) does: one card.Tickets over the platform's
// token store, fed by Platform.Authorizer.
type emu struct {
	t *testing.T
	s *wxtest.Server
	p *wxopen.Platform

	mu     sync.Mutex
	pushes []any // card events received by the MessageHandler, in order
}

// record is a MessageHandler callback that keeps the event.
func record[E any](e *emu) func(context.Context, *E) error {
	return func(_ context.Context, ev *E) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.pushes = append(e.pushes, ev)
		return nil
	}
}

// received returns the card events received so far.
func (e *emu) received() []any {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]any(nil), e.pushes...)
}

func newEmu(t *testing.T) *emu {
	t.Helper()
	ctx := context.Background()
	s := wxtest.NewTestServer(t)
	app := s.Component()
	p, err := wxopen.New(wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token,
		EncodingAESKey: app.EncodingAESKey}, wxopen.WithBaseURL(s.URL))
	require.NoError(t, err)
	e := &emu{t: t, s: s, p: p}
	h, err := p.Handler(component.HandlerConfig{Now: s.Now})
	require.NoError(t, err)
	mh, err := p.MessageHandler(component.MessageHandlerConfig{Now: s.Now,
		OnCardCheck: record[component.CardCheckEvent](e), OnUserGetCard: record[component.UserGetCardEvent](e),
		OnUserDelCard: record[component.UserDelCardEvent](e), OnUserConsumeCard: record[component.UserConsumeCardEvent](e),
		OnSubmitMemberCardUserInfo: record[component.SubmitMemberCardUserInfoEvent](e),
		OnUpdateMemberCard:         record[component.UpdateMemberCardEvent](e),
		OnUserViewCard:             record[component.UserViewCardEvent](e),
		OnUserEnterSessionFromCard: record[component.UserEnterSessionFromCardEvent](e)})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.Handle("/msg/{appid}", mh)
	events := httptest.NewServer(mux)
	t.Cleanup(events.Close)
	s.SetEventURLs(events.URL, events.URL+"/msg/$APPID$")
	_, err = s.PushVerifyTicket(ctx) // stored by the handler
	require.NoError(t, err)
	return e
}

// addOfficialAccount registers an official account that authorises the platform; the handler
// exchanges the pushed code and stores its tokens.
func (e *emu) addOfficialAccount(appID string) {
	e.t.Helper()
	e.s.AddAuthorizer(wxtest.Authorizer{AppID: appID, Business: wxtest.BusinessInfo{OpenCard: 1}})
	_, err := e.s.Authorize(context.Background(), wxtest.AuthorizeRequest{AuthorizerAppID: appID})
	require.NoError(e.t, err)
}

func (e *emu) card(appID string) *card.Client { return e.p.Card(appID) }

const emuOA = "wx1111222233334444"

func TestEmulatorMemberCardFlow(t *testing.T) {
	e := newEmu(t)
	e.addOfficialAccount(emuOA)
	c := e.card(emuOA)
	ctx := context.Background()

	mc := validCard()
	mc.BaseInfo.Sku.Quantity = 10
	mc.BaseInfo.CanShare = card.Bool(false)
	mc.WxActivate = true
	mc.SupplyBonus = true
	cardID, err := c.Create(ctx, mc)
	require.NoError(t, err)

	got, err := c.Get(ctx, cardID)
	require.NoError(t, err)
	assert.Equal(t, cardID, got.BaseInfo.ID)
	assert.Equal(t, "CARD_STATUS_VERIFY_OK", got.BaseInfo.Status)
	assert.Equal(t, mc.BaseInfo.Title, got.BaseInfo.Title)
	assert.Equal(t, card.Bool(false), got.BaseInfo.CanShare)
	assert.True(t, got.SupplyBonus)
	assert.False(t, got.SupplyBalance)

	sendCheck, err := c.Update(ctx, cardID, &card.MemberCardUpdate{BaseInfo: &card.BaseInfoUpdate{Title: "海风金卡"}})
	require.NoError(t, err)
	assert.True(t, sendCheck)
	got, err = c.Get(ctx, cardID)
	require.NoError(t, err)
	assert.Equal(t, "海风金卡", got.BaseInfo.Title)

	// The mini program adds the card with a cardExt the emulator accepts.
	ext, err := c.CardExt(ctx, card.CardExtRequest{CardID: cardID, OpenID: "oUSER", OuterStr: "mini"})
	require.NoError(t, err)
	require.NoError(t, e.s.VerifyCardExt(cardID, ext.Ext))
	enc, err := e.s.AddCard(cardID, "oUSER")
	require.NoError(t, err)
	code, err := c.DecryptCode(ctx, enc)
	require.NoError(t, err)
	code2, err := c.DecryptCode(ctx, url.QueryEscape(enc)) // as read from a redirect URL without decoding
	require.NoError(t, err)
	assert.Equal(t, code, code2)

	require.NoError(t, c.SetActivateUserForm(ctx, card.ActivateUserForm{CardID: cardID,
		RequiredForm: &card.FormSection{CommonFieldIDList: []card.FormFieldID{card.FieldMobile, card.FieldName}},
		OptionalForm: &card.FormSection{CanModify: true, CommonFieldIDList: []card.FormFieldID{card.FieldBirthday}}}))
	plugin, err := c.ActivateURL(ctx, cardID, "store-7")
	require.NoError(t, err)
	assert.Equal(t, card.PluginAppID, plugin.AppID)
	assert.Equal(t, "store-7", plugin.ExtraData.OuterStr)
	assert.Regexp(t, `=$`, plugin.ExtraData.EncryptCardID, "padding survives the parse")
	assert.Regexp(t, `=$`, plugin.ExtraData.Biz)

	ticket, err := e.s.SubmitActivateForm(cardID, enc, map[string]string{string(card.FieldMobile): "13800000000", string(card.FieldName): "李雷"})
	require.NoError(t, err)
	info, err := c.ActivateTempInfo(ctx, ticket)
	require.NoError(t, err)
	assert.Equal(t, "13800000000", info.Common(card.FieldMobile))
	assert.Equal(t, "李雷", info.Common(card.FieldName))

	before, err := c.MemberInfo(ctx, cardID, code)
	require.NoError(t, err)
	assert.False(t, before.HasActive)
	require.NoError(t, c.Activate(ctx, card.ActivateRequest{MembershipNumber: "M0001", Code: code, CardID: cardID, InitBonus: 50}))
	m, err := c.MemberInfo(ctx, cardID, code)
	require.NoError(t, err)
	assert.True(t, m.HasActive)
	assert.Equal(t, "M0001", m.MembershipNumber)
	assert.Equal(t, "oUSER", m.OpenID)
	assert.EqualValues(t, 50, m.Bonus)
	assert.Equal(t, "13800000000", m.UserInfo.Common(card.FieldMobile))

	res, err := c.UpdateMember(ctx, card.UpdateMemberRequest{Code: code, CardID: cardID, AddBonus: 25, RecordBonus: "消费", Balance: card.Int(1000)})
	require.NoError(t, err)
	assert.Equal(t, &card.UpdateMemberResult{ResultBonus: 75, ResultBalance: 1000, OpenID: "oUSER"}, res)
}

func TestEmulatorRefusals(t *testing.T) {
	e := newEmu(t)
	e.addOfficialAccount(emuOA)
	c := e.card(emuOA)
	ctx := context.Background()
	cardID, err := c.Create(ctx, validCard())
	require.NoError(t, err)

	_, err = c.DecryptCode(ctx, "AAAA")
	var ae *wxerr.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, wxerr.CodeInvalidEncryptCode, ae.Code)
	err = c.Activate(ctx, card.ActivateRequest{MembershipNumber: "M1", Code: "123456789012", CardID: cardID})
	assert.Equal(t, wxerr.CodeInvalidSerialCode, wxerr.CodeOf(err))
	_, err = c.Get(ctx, "pNOPE")
	assert.Equal(t, wxerr.CodeInvalidCardID, wxerr.CodeOf(err))
	// Another account cannot use this account's card.
	e.addOfficialAccount("wx5555666677778888")
	_, err = e.card("wx5555666677778888").Get(ctx, cardID)
	assert.Equal(t, wxerr.CodeInvalidCardID, wxerr.CodeOf(err))
}

func TestEmulatorConcurrentCardExtOneTicket(t *testing.T) {
	e := newEmu(t)
	e.addOfficialAccount(emuOA)
	ctx := context.Background()
	cardID, err := e.card(emuOA).Create(ctx, validCard())
	require.NoError(t, err)
	e.s.ResetCalls()

	const n = 100
	exts := make([]card.CardExt, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			exts[i], errs[i] = e.card(emuOA).CardExt(ctx, card.CardExtRequest{CardID: cardID, OpenID: "oU"})
		}(i)
	}
	close(start)
	wg.Wait()
	assert.Equal(t, 1, e.s.Calls("/cgi-bin/ticket/getticket"), "100 concurrent signings, one getticket on the emulator")
	for i := 0; i < n; i++ {
		require.NoError(t, errs[i])
		require.NoError(t, e.s.VerifyCardExt(cardID, exts[i].Ext))
	}

	// A second account has its own ticket; the first is not fetched again.
	e.addOfficialAccount("wx9999888877776666")
	_, err = e.card("wx9999888877776666").APITicket(ctx)
	require.NoError(t, err)
	_, err = e.card(emuOA).APITicket(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, e.s.Calls("/cgi-bin/ticket/getticket"))
}
