package card_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/card"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/wxerr"
	"github.com/wxopen-go/wxopen/wxtest"
)

// createWithUploadedLogo uploads a logo to the emulator and creates a card with it.
func (e *emu) createWithUploadedLogo(edit func(mc *card.MemberCard)) string {
	e.t.Helper()
	ctx := context.Background()
	c := e.card(emuOA)
	logo, err := c.UploadImage(ctx, "logo.png", pngImage(4096))
	require.NoError(e.t, err)
	require.Regexp(e.t, `^http://mmbiz\.qpic\.cn/mmbiz_png/`, logo)
	mc := validCard()
	mc.BaseInfo.LogoURL = logo
	mc.BaseInfo.Sku.Quantity = 100
	if edit != nil {
		edit(mc)
	}
	id, err := c.Create(ctx, mc)
	require.NoError(e.t, err)
	got, err := c.Get(ctx, id)
	require.NoError(e.t, err)
	require.Equal(e.t, logo, got.BaseInfo.LogoURL)
	return id
}

func TestEmulatorConsumeOnceThenRefused(t *testing.T) {
	e := newEmu(t)
	e.addOfficialAccount(emuOA)
	c := e.card(emuOA)
	ctx := context.Background()
	cardID := e.createWithUploadedLogo(nil)
	taken, err := e.s.TakeCard(ctx, cardID, "oUSER", "table-3")
	require.NoError(t, err)

	info, err := c.GetCode(ctx, card.CodeRequest{Code: taken.Code, CheckConsume: true})
	require.NoError(t, err)
	assert.Equal(t, card.StatusNormal, info.Status)
	assert.True(t, info.CanConsume)
	assert.Equal(t, "oUSER", info.OpenID)
	assert.Equal(t, cardID, info.CardID)
	assert.Equal(t, "table-3", info.OuterStr)
	assertAround(t, e.s.Now(), info.BeginTime) // the emulator's clock runs: the time the card was taken

	res, err := c.Consume(ctx, card.ConsumeRequest{Code: taken.Code})
	require.NoError(t, err)
	assert.Equal(t, card.Consumed, res.Outcome)
	assert.Equal(t, 1, e.s.Calls("/card/code/consume"))

	res, err = c.Consume(ctx, card.ConsumeRequest{Code: taken.Code})
	require.ErrorIs(t, err, card.ErrAlreadyConsumed)
	assert.Equal(t, card.AlreadyConsumed, res.Outcome)
	assert.Equal(t, 1, e.s.Calls("/card/code/consume"), "a consumed code is not sent again")

	// WeChat itself refuses a second consume with 40099, and code/get with check_consume too.
	_, err = c.GetCode(ctx, card.CodeRequest{Code: taken.Code, CheckConsume: true})
	assert.Equal(t, wxerr.CodeCodeConsumed, wxerr.CodeOf(err))
	err = e.p.Authorizer(emuOA).Do(ctx, authorizer.Request{Method: "POST", Path: "/card/code/consume",
		Body: map[string]string{"code": taken.Code}}, nil)
	assert.Equal(t, wxerr.CodeCodeConsumed, wxerr.CodeOf(err))
}

// TestEmulatorConsumeAnswerLost: the emulator consumes the code, then drops the connection. The
// caller is told the truth (consumed by this call), and the emulator saw exactly one consume.
func TestEmulatorConsumeAnswerLost(t *testing.T) {
	e := newEmu(t)
	e.addOfficialAccount(emuOA)
	c := e.card(emuOA)
	ctx := context.Background()
	cardID := e.createWithUploadedLogo(nil)
	taken, err := e.s.TakeCard(ctx, cardID, "oUSER", "")
	require.NoError(t, err)
	e.s.ResetCalls()

	e.s.InjectFault("/card/code/consume", wxtest.Fault{Drop: true, AfterHandler: true})
	res, err := c.Consume(ctx, card.ConsumeRequest{Code: taken.Code, CardID: cardID})
	require.NoError(t, err)
	assert.Equal(t, card.Consumed, res.Outcome)
	assert.True(t, res.Settled, "settled by reading the code")
	assert.Equal(t, card.StatusConsumed, res.Status)
	assert.Equal(t, 1, e.s.Calls("/card/code/consume"), "exactly one consume at the emulator")
	assert.Equal(t, 2, e.s.Calls("/card/code/get"), "one read before, one to settle")

	// The push of the consume reached the platform before the connection dropped.
	var consumed []*component.UserConsumeCardEvent
	for _, ev := range e.received() {
		if c, ok := ev.(*component.UserConsumeCardEvent); ok {
			consumed = append(consumed, c)
		}
	}
	require.Len(t, consumed, 1)
	assert.Equal(t, "FROM_API", consumed[0].ConsumeSource)
	assert.Equal(t, taken.Code, consumed[0].UserCardCode)
}

// TestEmulatorConsumeDroppedBeforeHandling: the connection drops before the emulator acts; the code
// is read as still normal, the caller is told it was not consumed, and a new Consume succeeds.
func TestEmulatorConsumeDroppedBeforeHandling(t *testing.T) {
	e := newEmu(t)
	e.addOfficialAccount(emuOA)
	c := e.card(emuOA)
	ctx := context.Background()
	cardID := e.createWithUploadedLogo(nil)
	taken, err := e.s.TakeCard(ctx, cardID, "oUSER", "")
	require.NoError(t, err)

	e.s.InjectFault("/card/code/consume", wxtest.Fault{Drop: true})
	res, err := c.Consume(ctx, card.ConsumeRequest{Code: taken.Code})
	require.Error(t, err)
	assert.Equal(t, card.NotConsumed, res.Outcome)
	assert.True(t, res.Settled)
	assert.Equal(t, card.StatusNormal, res.Status)
	res, err = c.Consume(ctx, card.ConsumeRequest{Code: taken.Code})
	require.NoError(t, err)
	assert.Equal(t, card.Consumed, res.Outcome)
	assert.False(t, res.Settled)
	assert.Equal(t, 2, e.s.Calls("/card/code/consume"))
}

func TestEmulatorCodeStates(t *testing.T) {
	e := newEmu(t)
	e.addOfficialAccount(emuOA)
	c := e.card(emuOA)
	ctx := context.Background()
	cardID := e.createWithUploadedLogo(nil)
	take := func() string {
		taken, err := e.s.TakeCard(ctx, cardID, "oUSER", "")
		require.NoError(t, err)
		return taken.Code
	}
	expired, deleted, gone := take(), take(), take()
	require.NoError(t, e.s.ExpireCode(expired))
	require.NoError(t, e.s.DeleteCard(ctx, deleted))

	for _, tc := range []struct {
		code   string
		status card.UserCardStatus
		errc   wxerr.Code
	}{
		{expired, card.StatusExpire, wxerr.CodeUserCardStatus},
		{deleted, card.StatusDelete, wxerr.CodeUserCardStatus},
	} {
		info, err := c.GetCode(ctx, card.CodeRequest{Code: tc.code})
		require.NoError(t, err)
		assert.Equal(t, tc.status, info.Status)
		assert.False(t, info.CanConsume)
		_, err = c.GetCode(ctx, card.CodeRequest{Code: tc.code, CheckConsume: true})
		assert.Equal(t, tc.errc, wxerr.CodeOf(err))
		res, err := c.Consume(ctx, card.ConsumeRequest{Code: tc.code})
		require.ErrorIs(t, err, card.ErrNotConsumable)
		assert.Equal(t, card.NotConsumed, res.Outcome)
	}
	assert.Zero(t, e.s.Calls("/card/code/consume"))

	// Deleting the card makes its codes unavailable and refuses further changes.
	require.NoError(t, c.Delete(ctx, cardID))
	info, err := c.GetCode(ctx, card.CodeRequest{Code: gone})
	require.NoError(t, err)
	assert.Equal(t, card.StatusUnavailable, info.Status)
	assert.Equal(t, wxerr.CodeUserCardStatus, wxerr.CodeOf(c.Delete(ctx, cardID)))
	assert.Equal(t, wxerr.CodeUserCardStatus, wxerr.CodeOf(c.ModifyStock(ctx, cardID, 1)))
	got, err := c.Get(ctx, cardID)
	require.NoError(t, err)
	assert.Equal(t, string(card.StateDelete), got.BaseInfo.Status)

	_, err = c.GetCode(ctx, card.CodeRequest{Code: "999999999999"})
	assert.Equal(t, wxerr.CodeInvalidSerialCode, wxerr.CodeOf(err))
}

func TestEmulatorCodeValidityFromDateInfo(t *testing.T) {
	e := newEmu(t)
	e.addOfficialAccount(emuOA)
	c := e.card(emuOA)
	ctx := context.Background()
	cardID := e.createWithUploadedLogo(func(mc *card.MemberCard) {
		mc.BaseInfo.DateInfo = card.DateInfo{Type: card.DateFixTerm, FixedBeginTerm: 1, FixedTerm: 30}
	})
	taken, err := e.s.TakeCard(ctx, cardID, "oUSER", "")
	require.NoError(t, err)
	info, err := c.GetCode(ctx, card.CodeRequest{Code: taken.Code})
	require.NoError(t, err)
	assertAround(t, e.s.Now().Add(24*time.Hour), info.BeginTime)
	assert.Equal(t, 30*24*time.Hour, info.EndTime.Sub(info.BeginTime))
	assert.False(t, info.CanConsume, "not valid before fixed_begin_term")
	_, err = c.GetCode(ctx, card.CodeRequest{Code: taken.Code, CheckConsume: true})
	assert.Equal(t, wxerr.CodeInvalidCardTime, wxerr.CodeOf(err))
	res, err := c.Consume(ctx, card.ConsumeRequest{Code: taken.Code})
	require.ErrorIs(t, err, card.ErrNotConsumable)
	assert.ErrorContains(t, err, "outside its validity (from "+info.BeginTime.UTC().Format(time.RFC3339))
	assert.Equal(t, card.NotConsumed, res.Outcome)
	assert.Zero(t, e.s.Calls("/card/code/consume"))

	// A day later the code can be consumed (WeChat has pushed new verify tickets meanwhile).
	e.s.Advance(24 * time.Hour)
	_, err = e.s.PushVerifyTicket(ctx)
	require.NoError(t, err)
	res, err = c.Consume(ctx, card.ConsumeRequest{Code: taken.Code})
	require.NoError(t, err)
	assert.Equal(t, card.Consumed, res.Outcome)
}

func TestEmulatorListPagesAndManage(t *testing.T) {
	e := newEmu(t)
	e.addOfficialAccount(emuOA)
	c := e.card(emuOA)
	ctx := context.Background()
	var ids []string
	for i := 0; i < 53; i++ {
		mc := validCard()
		mc.BaseInfo.Title = fmt.Sprintf("卡%d", i)
		id, err := c.Create(ctx, mc)
		require.NoError(t, err)
		ids = append(ids, id)
	}
	e.s.ResetCalls()
	var got []string
	for id, err := range c.All(ctx) {
		require.NoError(t, err)
		got = append(got, id)
	}
	assert.Equal(t, ids, got)
	assert.Equal(t, 2, e.s.Calls("/card/batchget"))

	require.NoError(t, c.Delete(ctx, ids[0]))
	page, err := c.List(ctx, card.ListRequest{Count: 5, StatusList: []card.State{card.StateDelete}})
	require.NoError(t, err)
	assert.Equal(t, &card.ListResult{CardIDs: []string{ids[0]}, TotalNum: 1}, page)
	page, err = c.List(ctx, card.ListRequest{Offset: 50, Count: 50, StatusList: []card.State{card.StateVerifyOK}})
	require.NoError(t, err)
	assert.Equal(t, &card.ListResult{CardIDs: ids[51:], TotalNum: 52}, page)

	// Another account sees none of them.
	e.addOfficialAccount("wx5555666677778888")
	page, err = e.card("wx5555666677778888").List(ctx, card.ListRequest{Count: 50})
	require.NoError(t, err)
	assert.Zero(t, page.TotalNum)
	assert.Empty(t, page.CardIDs)
}

func TestEmulatorStockPayCellQRCodeLandingPage(t *testing.T) {
	e := newEmu(t)
	e.addOfficialAccount(emuOA)
	c := e.card(emuOA)
	ctx := context.Background()
	cardID := e.createWithUploadedLogo(nil) // stock 100

	require.NoError(t, c.ModifyStock(ctx, cardID, 20))
	require.NoError(t, c.ModifyStock(ctx, cardID, -5))
	got, err := c.Get(ctx, cardID)
	require.NoError(t, err)
	assert.EqualValues(t, 115, got.BaseInfo.Sku.Quantity)
	assert.Equal(t, wxerr.CodeInvalidQuantity, wxerr.CodeOf(c.ModifyStock(ctx, cardID, -116)))

	assert.Equal(t, wxerr.CodeInvalidParams, wxerr.CodeOf(c.SetPayCell(ctx, cardID, true)), "a card without stores")
	require.NoError(t, c.SetPayCell(ctx, cardID, false))
	withStores := e.createWithUploadedLogo(func(mc *card.MemberCard) { mc.BaseInfo.LocationIDList = []int64{4021} })
	require.NoError(t, c.SetPayCell(ctx, withStores, true))

	qr, err := c.CreateQRCode(ctx, card.QRCodeRequest{ExpireSeconds: 600, Card: &card.QRCard{CardID: cardID, OuterStr: "door"}})
	require.NoError(t, err)
	assert.Equal(t, 600, qr.ExpireSeconds)
	assert.Regexp(t, `^https://mp\.weixin\.qq\.com/cgi-bin/showqrcode\?ticket=`, qr.ShowQRCodeURL)
	_, err = c.CreateQRCode(ctx, card.QRCodeRequest{Cards: []card.QRCardItem{{CardID: cardID}, {CardID: "pNOPE"}}})
	assert.Equal(t, wxerr.CodeInvalidCardID, wxerr.CodeOf(err))

	banner, err := c.UploadImage(ctx, "banner.jpg", append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, make([]byte, 100)...))
	require.NoError(t, err)
	require.Regexp(t, `^http://mmbiz\.qpic\.cn/mmbiz_jpg/`, banner)
	page, err := c.CreateLandingPage(ctx, card.LandingPage{Banner: banner, PageTitle: "会员", Scene: card.SceneMenu,
		CardList: []card.LandingCard{{CardID: cardID, ThumbURL: banner}}})
	require.NoError(t, err)
	assert.EqualValues(t, 1, page.PageID)
	assert.Contains(t, page.URL, "page_id=1")

	// A rejected card cannot be handed out.
	require.NoError(t, e.s.ReviewCard(ctx, cardID, false, "logo unclear"))
	_, err = c.CreateQRCode(ctx, card.QRCodeRequest{Card: &card.QRCard{CardID: cardID}})
	assert.Equal(t, wxerr.CodeCardNotApproved, wxerr.CodeOf(err))
	_, err = e.s.TakeCard(ctx, cardID, "oU", "")
	assert.Error(t, err)
}

// TestEmulatorUploadThroughTheEscapeHatch: authorizer.Do sends a file, so an upload wxopen has not
// typed is reachable; here uploadimg with the "media" field most SDKs use, which the emulator also
// accepts.
func TestEmulatorUploadThroughTheEscapeHatch(t *testing.T) {
	e := newEmu(t)
	e.addOfficialAccount(emuOA)
	var out struct {
		URL string `json:"url"`
	}
	err := e.p.Authorizer(emuOA).Do(context.Background(), authorizer.Request{Method: "POST", Path: "/cgi-bin/media/uploadimg",
		File: &authorizer.File{Field: "media", Name: "logo.png", ContentType: "image/png", Data: pngImage(300)}}, &out)
	require.NoError(t, err)
	assert.Regexp(t, `^http://mmbiz\.qpic\.cn/mmbiz_png/`, out.URL)

	err = e.p.Authorizer(emuOA).Do(context.Background(), authorizer.Request{Method: "POST", Path: "/cgi-bin/media/uploadimg",
		File: &authorizer.File{Field: "buffer", Name: "big.png", Data: pngImage(card.MaxImageBytes + 1)}}, &out)
	assert.Equal(t, wxerr.CodeImageTooLarge, wxerr.CodeOf(err))
	assert.Contains(t, err.Error(), "1 MB", "the operator hint")
}

// TestEmulatorConcurrentTillsConsumeOnce: several tills scan the same code at once; exactly one is
// told it consumed it, the others that it was already consumed, and WeChat pushes one consume.
func TestEmulatorConcurrentTillsConsumeOnce(t *testing.T) {
	e := newEmu(t)
	e.addOfficialAccount(emuOA)
	ctx := context.Background()
	cardID := e.createWithUploadedLogo(nil)
	taken, err := e.s.TakeCard(ctx, cardID, "oUSER", "")
	require.NoError(t, err)

	const tills = 8
	outcomes := make([]card.ConsumeOutcome, tills)
	errs := make([]error, tills)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range tills {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res, err := e.card(emuOA).Consume(ctx, card.ConsumeRequest{Code: taken.Code})
			errs[i] = err
			if res != nil {
				outcomes[i] = res.Outcome
			}
		}()
	}
	close(start)
	wg.Wait()
	consumed := 0
	for i := range tills {
		switch outcomes[i] {
		case card.Consumed:
			consumed++
			assert.NoError(t, errs[i])
		case card.AlreadyConsumed:
			assert.ErrorIs(t, errs[i], card.ErrAlreadyConsumed)
		default:
			t.Errorf("till %d: outcome %v, err %v", i, outcomes[i], errs[i])
		}
	}
	assert.Equal(t, 1, consumed)
	n := 0
	for _, ev := range e.received() {
		if _, ok := ev.(*component.UserConsumeCardEvent); ok {
			n++
		}
	}
	assert.Equal(t, 1, n, "one user_consume_card push")
}

func TestEmulatorQRCodeScanned(t *testing.T) {
	e := newEmu(t)
	e.addOfficialAccount(emuOA)
	c := e.card(emuOA)
	ctx := context.Background()
	cardID := e.createWithUploadedLogo(nil)

	qr, err := c.CreateQRCode(ctx, card.QRCodeRequest{ExpireSeconds: 60,
		Card: &card.QRCard{CardID: cardID, OpenID: "oVIP", IsUniqueCode: true, OuterStr: "vip-invite"}})
	require.NoError(t, err)
	_, err = e.s.ScanQRCode(ctx, qr.Ticket, "oOTHER")
	assert.ErrorContains(t, err, "for oVIP only")
	taken, err := e.s.ScanQRCode(ctx, qr.Ticket, "oVIP")
	require.NoError(t, err)
	require.Len(t, taken, 1)
	_, err = e.s.ScanQRCode(ctx, qr.Ticket, "oVIP")
	assert.ErrorContains(t, err, "already scanned")

	info, err := c.GetCode(ctx, card.CodeRequest{Code: taken[0].Code})
	require.NoError(t, err)
	assert.Equal(t, "vip-invite", info.OuterStr)
	assert.Equal(t, "oVIP", info.OpenID)
	got := e.received()
	require.NotEmpty(t, got)
	ev := got[len(got)-1].(*component.UserGetCardEvent)
	assert.Equal(t, "vip-invite", ev.OuterStr)
	assert.Equal(t, taken[0].Code, ev.UserCardCode)

	other := e.createWithUploadedLogo(nil)
	multi, err := c.CreateQRCode(ctx, card.QRCodeRequest{ExpireSeconds: 60,
		Cards: []card.QRCardItem{{CardID: cardID, OuterStr: "a"}, {CardID: other, OuterStr: "b"}}})
	require.NoError(t, err)
	e.s.Advance(61 * time.Second)
	_, err = e.s.ScanQRCode(ctx, multi.Ticket, "oU")
	assert.ErrorContains(t, err, "expired")
	multi, err = c.CreateQRCode(ctx, card.QRCodeRequest{Cards: []card.QRCardItem{{CardID: cardID, OuterStr: "a"}, {CardID: other, OuterStr: "b"}}})
	require.NoError(t, err)
	taken, err = e.s.ScanQRCode(ctx, multi.Ticket, "oU")
	require.NoError(t, err)
	assert.Len(t, taken, 2)
}

func TestEmulatorGetLimitCountsHeldCodes(t *testing.T) {
	e := newEmu(t)
	e.addOfficialAccount(emuOA)
	ctx := context.Background()
	cardID := e.createWithUploadedLogo(func(mc *card.MemberCard) { mc.BaseInfo.GetLimit = 1 })
	first, err := e.s.TakeCard(ctx, cardID, "oUSER", "")
	require.NoError(t, err)
	_, err = e.s.TakeCard(ctx, cardID, "oUSER", "")
	assert.ErrorContains(t, err, "get_limit")
	_, err = e.s.TakeCard(ctx, cardID, "oOTHER", "")
	require.NoError(t, err, "the limit is per user")
	require.NoError(t, e.s.DeleteCard(ctx, first.Code))
	_, err = e.s.TakeCard(ctx, cardID, "oUSER", "")
	require.NoError(t, err, "a deleted card no longer counts")
}

// assertAround checks a time WeChat stamped in whole seconds a moment before now (the emulator's
// clock runs with real time).
func assertAround(t *testing.T, now, got time.Time) {
	t.Helper()
	assert.False(t, got.After(now), "%v is after %v", got, now)
	assert.WithinDuration(t, now, got, 5*time.Second)
}

// TestEmulatorConsumeDoneButAnsweredSystemBusy: the emulator consumes the code, then answers -1.
func TestEmulatorConsumeDoneButAnsweredSystemBusy(t *testing.T) {
	e := newEmu(t)
	e.addOfficialAccount(emuOA)
	ctx := context.Background()
	cardID := e.createWithUploadedLogo(nil)
	taken, err := e.s.TakeCard(ctx, cardID, "oUSER", "")
	require.NoError(t, err)
	e.s.ResetCalls()
	e.s.InjectFault("/card/code/consume", wxtest.Fault{ErrCode: -1, AfterHandler: true})
	res, err := e.card(emuOA).Consume(ctx, card.ConsumeRequest{Code: taken.Code})
	require.NoError(t, err)
	assert.Equal(t, card.Consumed, res.Outcome)
	assert.True(t, res.Settled)
	assert.Equal(t, 1, e.s.Calls("/card/code/consume"))
}
