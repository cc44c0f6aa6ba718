package card_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/card"
	"github.com/wxopen-go/wxopen/internal/wxhttp"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
	"github.com/wxopen-go/wxopen/wxtest"
)

// emu is the SDK wired to the wxtest emulator the way a Platform wires it: one caller, an authorizer
// token per account (obtained through the component flow over plain HTTP), one shared Tickets.
type emu struct {
	t       *testing.T
	s       *wxtest.Server
	app     wxtest.ComponentApp
	caller  *wxhttp.Client
	tickets *card.Tickets

	mu      sync.Mutex
	ticket  string                         // latest verify ticket
	sources map[string]*tokenstore.Manager // authorizer appid → its access-token manager
	refresh map[string]string              // authorizer appid → refresh token
}

func newEmu(t *testing.T) *emu {
	t.Helper()
	s := wxtest.NewTestServer(t)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "success") }))
	t.Cleanup(sink.Close)
	s.SetEventURLs(sink.URL+"/auth", sink.URL+"/msg/$APPID$")
	caller, err := wxhttp.New(wxhttp.Config{BaseURL: s.URL})
	require.NoError(t, err)
	e := &emu{t: t, s: s, app: s.Component(), caller: caller,
		sources: map[string]*tokenstore.Manager{}, refresh: map[string]string{}}
	e.ticket, err = s.PushVerifyTicket(context.Background())
	require.NoError(t, err)
	e.tickets = card.NewTickets(tokenstore.NewMemoryStore(), e.authorizer)
	return e
}

// post sends a JSON POST to the emulator over plain HTTP.
func (e *emu) post(ctx context.Context, path string, q url.Values, body, out any) error {
	b, _ := json.Marshal(body)
	u := e.s.URL + path
	if q != nil {
		u += "?" + q.Encode()
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}

func (e *emu) componentToken(ctx context.Context) (string, error) {
	e.mu.Lock()
	ticket := e.ticket
	e.mu.Unlock()
	var out struct {
		Token string `json:"component_access_token"`
	}
	err := e.post(ctx, "/cgi-bin/component/api_component_token", nil, map[string]string{
		"component_appid": e.app.AppID, "component_appsecret": e.app.AppSecret, "component_verify_ticket": ticket}, &out)
	return out.Token, err
}

// addOfficialAccount registers and authorises an official account, and stores its first access token.
func (e *emu) addOfficialAccount(appID string) {
	e.t.Helper()
	ctx := context.Background()
	e.s.AddAuthorizer(wxtest.Authorizer{AppID: appID, Business: wxtest.BusinessInfo{OpenCard: 1}})
	code, err := e.s.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: appID})
	require.NoError(e.t, err)
	ct, err := e.componentToken(ctx)
	require.NoError(e.t, err)
	var out struct {
		Info struct {
			AccessToken  string `json:"authorizer_access_token"`
			ExpiresIn    int    `json:"expires_in"`
			RefreshToken string `json:"authorizer_refresh_token"`
		} `json:"authorization_info"`
	}
	require.NoError(e.t, e.post(ctx, "/cgi-bin/component/api_query_auth", url.Values{"component_access_token": {ct}},
		map[string]string{"component_appid": e.app.AppID, "authorization_code": code}, &out))
	require.NotEmpty(e.t, out.Info.AccessToken)
	m := tokenstore.NewManager(tokenstore.NewMemoryStore(), func(ctx context.Context, _ string) (tokenstore.Token, error) {
		ct, err := e.componentToken(ctx)
		if err != nil {
			return tokenstore.Token{}, err
		}
		e.mu.Lock()
		rt := e.refresh[appID]
		e.mu.Unlock()
		var r struct {
			AccessToken string `json:"authorizer_access_token"`
			ExpiresIn   int    `json:"expires_in"`
		}
		if err := e.post(ctx, "/cgi-bin/component/api_authorizer_token", url.Values{"component_access_token": {ct}},
			map[string]string{"component_appid": e.app.AppID, "authorizer_appid": appID, "authorizer_refresh_token": rt}, &r); err != nil {
			return tokenstore.Token{}, err
		}
		return tokenstore.Token{Value: r.AccessToken, ExpiresAt: time.Now().Add(time.Duration(r.ExpiresIn) * time.Second)}, nil
	})
	require.NoError(e.t, m.Set(ctx, "at", tokenstore.Token{Value: out.Info.AccessToken,
		ExpiresAt: time.Now().Add(time.Duration(out.Info.ExpiresIn) * time.Second)}))
	e.mu.Lock()
	e.sources[appID], e.refresh[appID] = m, out.Info.RefreshToken
	e.mu.Unlock()
}

// authorizer is the platform's Authorizer(appid).
func (e *emu) authorizer(appID string) *authorizer.Client {
	e.mu.Lock()
	m := e.sources[appID]
	e.mu.Unlock()
	if m == nil {
		return nil
	}
	return authorizer.New(appID, e.caller, m.Source("at"), authorizer.Component{AppID: e.app.AppID})
}

func (e *emu) card(appID string) *card.Client { return card.New(e.authorizer(appID), e.tickets) }

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
