package card_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/card"
	"github.com/wxopen-go/wxopen/wxerr"
)

func TestListSendsPage(t *testing.T) {
	e := setup(t)
	n := e.expectPOST(t, "/card/batchget", `{"offset":50,"count":10,"status_list":["CARD_STATUS_VERIFY_OK","CARD_STATUS_DISPATCH"]}`,
		`{"errcode":0,"errmsg":"ok","card_id_list":["pA","pB"],"total_num":52}`)
	page, err := e.card(oaAppID).List(context.Background(), card.ListRequest{Offset: 50, Count: 10,
		StatusList: []card.State{card.StateVerifyOK, card.StateDispatch}})
	require.NoError(t, err)
	assert.Equal(t, &card.ListResult{CardIDs: []string{"pA", "pB"}, TotalNum: 52}, page)
	assert.EqualValues(t, 1, n.Load())

	e.expectPOST(t, "/card/batchget", `{"offset":0,"count":1}`, `{"errcode":0,"errmsg":"ok","card_id_list":[],"total_num":0}`)
	page, err = e.card(oaAppID).List(context.Background(), card.ListRequest{Count: 1})
	require.NoError(t, err)
	assert.Zero(t, page.TotalNum)
}

func TestListValidates(t *testing.T) {
	e := setup(t)
	c := e.card(oaAppID)
	for _, req := range []card.ListRequest{
		{Count: 0}, {Count: 51}, {Offset: -1, Count: 5}, {Count: 5, StatusList: []card.State{"CARD_STATUS_NOPE"}},
	} {
		_, err := c.List(context.Background(), req)
		assert.True(t, wxerr.IsValidation(err), "%+v: %v", req, err)
	}
	assert.Zero(t, e.mt.GetTotalCallCount())
}

func TestAllWalksEveryPage(t *testing.T) {
	e := setup(t)
	var offsets []int
	ids := make([]string, 120)
	for i := range ids {
		ids[i] = "p" + string(rune('A'+i%26)) + itoa(i)
	}
	e.mt.RegisterResponder("POST", base+"/card/batchget", func(r *http.Request) (*http.Response, error) {
		var req struct {
			Offset     int      `json:"offset"`
			Count      int      `json:"count"`
			StatusList []string `json:"status_list"`
		}
		b, _ := io.ReadAll(r.Body)
		require.NoError(t, json.Unmarshal(b, &req))
		assert.Equal(t, 50, req.Count)
		assert.Equal(t, []string{"CARD_STATUS_VERIFY_OK"}, req.StatusList)
		offsets = append(offsets, req.Offset)
		end := min(len(ids), req.Offset+req.Count)
		return httpmock.NewJsonResponse(200, map[string]any{"errcode": 0, "card_id_list": ids[req.Offset:end], "total_num": len(ids)})
	})
	var got []string
	for id, err := range e.card(oaAppID).All(context.Background(), card.StateVerifyOK) {
		require.NoError(t, err)
		got = append(got, id)
	}
	assert.Equal(t, ids, got)
	assert.Equal(t, []int{0, 50, 100}, offsets)

	// Stopping early sends no further request.
	offsets = nil
	for range e.card(oaAppID).All(context.Background(), card.StateVerifyOK) {
		break
	}
	assert.Equal(t, []int{0}, offsets)
}

func TestAllYieldsTheErrorOnce(t *testing.T) {
	e := setup(t)
	e.mt.RegisterResponder("POST", base+"/card/batchget", httpmock.NewStringResponder(200, `{"errcode":40097,"errmsg":"invalid args"}`))
	var errs []error
	for id, err := range e.card(oaAppID).All(context.Background()) {
		assert.Empty(t, id)
		errs = append(errs, err)
	}
	require.Len(t, errs, 1)
	assert.Equal(t, wxerr.CodeInvalidParams, wxerr.CodeOf(errs[0]))
}

func TestDeleteStockPayCellSend(t *testing.T) {
	e := setup(t)
	c := e.card(oaAppID)
	ctx := context.Background()
	del := e.expectPOST(t, "/card/delete", `{"card_id":"pC"}`, `{"errcode":0,"errmsg":"ok"}`)
	require.NoError(t, c.Delete(ctx, "pC"))
	assert.EqualValues(t, 1, del.Load())

	up := e.expectPOST(t, "/card/modifystock", `{"card_id":"pC","increase_stock_value":100}`, `{"errcode":0,"errmsg":"ok"}`)
	require.NoError(t, c.ModifyStock(ctx, "pC", 100))
	assert.EqualValues(t, 1, up.Load())
	down := e.expectPOST(t, "/card/modifystock", `{"card_id":"pC","reduce_stock_value":7}`, `{"errcode":0,"errmsg":"ok"}`)
	require.NoError(t, c.ModifyStock(ctx, "pC", -7))
	assert.EqualValues(t, 1, down.Load())

	on := e.expectPOST(t, "/card/paycell/set", `{"card_id":"pC","is_open":true}`, `{"errcode":0,"errmsg":"ok"}`)
	require.NoError(t, c.SetPayCell(ctx, "pC", true))
	assert.EqualValues(t, 1, on.Load())
	off := e.expectPOST(t, "/card/paycell/set", `{"card_id":"pC","is_open":false}`, `{"errcode":0,"errmsg":"ok"}`)
	require.NoError(t, c.SetPayCell(ctx, "pC", false))
	assert.EqualValues(t, 1, off.Load())
}

func TestDeleteStockPayCellValidate(t *testing.T) {
	e := setup(t)
	c := e.card(oaAppID)
	ctx := context.Background()
	for _, err := range []error{c.Delete(ctx, ""), c.ModifyStock(ctx, "", 1), c.ModifyStock(ctx, "pC", 0), c.SetPayCell(ctx, "", true)} {
		assert.True(t, wxerr.IsValidation(err), "%v", err)
	}
	assert.Zero(t, e.mt.GetTotalCallCount())
}

// TestNewEndpointsErrcodeAndTransport: an errcode is a *wxerr.APIError; a transport failure is
// returned, sent once for a write and retried for a read.
func TestNewEndpointsErrcodeAndTransport(t *testing.T) {
	ctx := context.Background()
	png := pngImage(100)
	for _, tc := range []struct {
		name, path string
		write      bool
		call       func(c *card.Client) error
	}{
		{"GetCode", "/card/code/get", false, func(c *card.Client) error { _, err := c.GetCode(ctx, card.CodeRequest{Code: "C1"}); return err }},
		{"List", "/card/batchget", false, func(c *card.Client) error { _, err := c.List(ctx, card.ListRequest{Count: 5}); return err }},
		{"UploadImage", "/cgi-bin/media/uploadimg", false, func(c *card.Client) error { _, err := c.UploadImage(ctx, "logo.png", png); return err }},
		{"Delete", "/card/delete", true, func(c *card.Client) error { return c.Delete(ctx, "pC") }},
		{"ModifyStock", "/card/modifystock", true, func(c *card.Client) error { return c.ModifyStock(ctx, "pC", 3) }},
		{"SetPayCell", "/card/paycell/set", true, func(c *card.Client) error { return c.SetPayCell(ctx, "pC", true) }},
		{"CreateQRCode", "/card/qrcode/create", true, func(c *card.Client) error {
			_, err := c.CreateQRCode(ctx, card.QRCodeRequest{Card: &card.QRCard{CardID: "pC"}})
			return err
		}},
		{"CreateLandingPage", "/card/landingpage/create", true, func(c *card.Client) error {
			_, err := c.CreateLandingPage(ctx, validLandingPage())
			return err
		}},
	} {
		t.Run(tc.name+"/errcode", func(t *testing.T) {
			e := setup(t)
			e.mt.RegisterResponder("POST", base+tc.path, httpmock.NewStringResponder(200, `{"errcode":40073,"errmsg":"invalid card id"}`))
			err := tc.call(e.card(oaAppID))
			var ae *wxerr.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, wxerr.CodeInvalidCardID, ae.Code)
			assert.NotContains(t, err.Error(), "AT-"+oaAppID, "the token never appears in errors")
		})
		t.Run(tc.name+"/transport", func(t *testing.T) {
			e := setup(t)
			e.mt.RegisterResponder("POST", base+tc.path, httpmock.NewErrorResponder(errors.New("connection reset")))
			err := tc.call(e.card(oaAppID))
			require.ErrorContains(t, err, "connection reset")
			assert.NotContains(t, err.Error(), "AT-"+oaAppID)
			n := e.mt.GetCallCountInfo()["POST "+base+tc.path]
			if tc.write {
				assert.Equal(t, 1, n, "a write is never sent twice")
			} else {
				assert.Greater(t, n, 1, "a read is retried")
			}
		})
	}
}
