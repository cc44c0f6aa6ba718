package card_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/card"
	"github.com/wxopen-go/wxopen/wxerr"
)

// assertSignedWith checks that ext is req signed with ticket, for the timestamp and nonce_str it carries.
func assertSignedWith(t *testing.T, ticket string, req card.CardExtRequest, ext card.CardExt) {
	t.Helper()
	m := decodeExt(t, ext.Ext)
	ts, err := strconv.ParseInt(m["timestamp"].(string), 10, 64)
	require.NoError(t, err)
	want, err := card.SignCardExt(ticket, req, ts, m["nonce_str"].(string))
	require.NoError(t, err)
	assert.Equal(t, want, ext)
}

func TestSignCardExtDigestVector(t *testing.T) {
	// API digest 7.7: sorted 1700000000, CODE123, NONCE01, TEST_API_TICKET, pCARD_ID_EXAMPLE.
	ext, err := card.SignCardExt("TEST_API_TICKET", card.CardExtRequest{CardID: "pCARD_ID_EXAMPLE", Code: "CODE123"}, 1700000000, "NONCE01")
	require.NoError(t, err)
	assert.Equal(t, "pCARD_ID_EXAMPLE", ext.CardID)
	assert.Equal(t, `{"code":"CODE123","timestamp":"1700000000","nonce_str":"NONCE01","signature":"dd4dd7944708af09f9a63242c633b5d037f28d55"}`, ext.Ext)
}

func TestSignCardExtOwnVector(t *testing.T) {
	// Computed independently in the shell from the documented algorithm (sort the values, concatenate,
	// SHA-1, lowercase hex):
	//   printf '%s\n' kgt8ON7yVITDhtdwci0qeSbmddpI7Bp3ekOAODLrGsGyLx-IDx5MBp2Hs3MgiXomoCbv0_BH0bDbJf6_YM9OXQ \
	//     1717171717 pFS7Fjg8kV1IdDz01r4SQwMkuCKc 110201201245 oFS7Fjl0WsZ9AMZqrI80nbIq8xrA Xy7Qw2p9 \
	//     | LC_ALL=C sort | tr -d '\n' | sha1sum
	//   → aebba2f81a906ab1a31a8a3951b7bfbd4e3f903a
	const ticket = "kgt8ON7yVITDhtdwci0qeSbmddpI7Bp3ekOAODLrGsGyLx-IDx5MBp2Hs3MgiXomoCbv0_BH0bDbJf6_YM9OXQ"
	req := card.CardExtRequest{CardID: "pFS7Fjg8kV1IdDz01r4SQwMkuCKc", Code: "110201201245", OpenID: "oFS7Fjl0WsZ9AMZqrI80nbIq8xrA",
		FixedBeginTimestamp: time.Unix(1717200000, 0), OuterStr: "shop-42"}
	ext, err := card.SignCardExt(ticket, req, 1717171717, "Xy7Qw2p9")
	require.NoError(t, err)
	assert.Equal(t, `{"code":"110201201245","openid":"oFS7Fjl0WsZ9AMZqrI80nbIq8xrA","timestamp":"1717171717","nonce_str":"Xy7Qw2p9",`+
		`"fixed_begintimestamp":1717200000,"outer_str":"shop-42","signature":"aebba2f81a906ab1a31a8a3951b7bfbd4e3f903a"}`, ext.Ext)

	// fixed_begintimestamp and outer_str are not signed: leaving them out keeps the signature.
	req.FixedBeginTimestamp, req.OuterStr = time.Time{}, ""
	bare, err := card.SignCardExt(ticket, req, 1717171717, "Xy7Qw2p9")
	require.NoError(t, err)
	assert.Equal(t, "aebba2f81a906ab1a31a8a3951b7bfbd4e3f903a", decodeExt(t, bare.Ext)["signature"])
}

func TestSignCardExtLeavesAbsentValuesOut(t *testing.T) {
	// Only ticket, timestamp, card_id and nonce_str are signed:
	//   printf '%s\n' TEST_API_TICKET 1700000000 pCARD_ID_EXAMPLE NONCE01 | LC_ALL=C sort | tr -d '\n' | sha1sum
	//   → 7a282815426ffc0d44d2a6fdf76bfb5cdfef78aa
	ext, err := card.SignCardExt("TEST_API_TICKET", card.CardExtRequest{CardID: "pCARD_ID_EXAMPLE"}, 1700000000, "NONCE01")
	require.NoError(t, err)
	assert.Equal(t, `{"timestamp":"1700000000","nonce_str":"NONCE01","signature":"7a282815426ffc0d44d2a6fdf76bfb5cdfef78aa"}`, ext.Ext)
	m := decodeExt(t, ext.Ext)
	for _, k := range []string{"code", "openid", "fixed_begintimestamp", "outer_str"} {
		assert.NotContains(t, m, k)
	}

	// openid alone: present in JSON and in the signature (differs from the signature without it).
	withOpenID, err := card.SignCardExt("TEST_API_TICKET", card.CardExtRequest{CardID: "pCARD_ID_EXAMPLE", OpenID: "oUSER"}, 1700000000, "NONCE01")
	require.NoError(t, err)
	mo := decodeExt(t, withOpenID.Ext)
	assert.Equal(t, "oUSER", mo["openid"])
	assert.NotContains(t, mo, "code")
	assert.NotEqual(t, m["signature"], mo["signature"])
}

func TestSignCardExtEscapesJSON(t *testing.T) {
	req := card.CardExtRequest{CardID: "pC", Code: "a\"b\\c\n\x01", OpenID: "o\u2028p", OuterStr: "渠道 <1>&"}
	ext, err := card.SignCardExt("T", req, 1, "n")
	require.NoError(t, err)
	m := decodeExt(t, ext.Ext)
	assert.Equal(t, req.Code, m["code"])
	assert.Equal(t, req.OpenID, m["openid"])
	assert.Equal(t, req.OuterStr, m["outer_str"])
	assert.Contains(t, ext.Ext, `"outer_str":"渠道 <1>&"`, "non-ASCII as raw UTF-8, no HTML escaping")
	assert.Contains(t, ext.Ext, `\u2028`)
}

func TestSignCardExtValidation(t *testing.T) {
	ok := card.CardExtRequest{CardID: "pC"}
	cases := []struct {
		name   string
		ticket string
		req    card.CardExtRequest
		ts     int64
		nonce  string
		field  string
	}{
		{"no ticket", "", ok, 1, "n", "api_ticket"},
		{"no card id", "T", card.CardExtRequest{}, 1, "n", "card_id"},
		{"zero timestamp", "T", ok, 0, "n", "timestamp"},
		{"empty nonce", "T", ok, 1, "", "nonce_str"},
		{"long nonce", "T", ok, 1, "123456789012345678901234567890123", "nonce_str"},
		{"nonce with symbols", "T", ok, 1, "a b", "nonce_str"},
		{"bad utf-8", "T", card.CardExtRequest{CardID: "pC", Code: "\xff"}, 1, "n", "code"},
		{"fixed begin before 1970", "T", card.CardExtRequest{CardID: "pC", FixedBeginTimestamp: time.Unix(-1, 0)}, 1, "n", "fixed_begintimestamp"},
		{"fixed begin at 1970", "T", card.CardExtRequest{CardID: "pC", FixedBeginTimestamp: time.Unix(0, 0)}, 1, "n", "fixed_begintimestamp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := card.SignCardExt(tc.ticket, tc.req, tc.ts, tc.nonce)
			var ve *wxerr.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.field, ve.Field)
		})
	}
	_, err := card.SignCardExt("T", ok, 1, "12345678901234567890123456789012")
	require.NoError(t, err, "32 characters is the limit, included")
}

func TestClientCardExt(t *testing.T) {
	e := setup(t)
	tr := e.serveTickets(t)
	c := e.card(oaAppID)
	ctx := context.Background()
	req := card.CardExtRequest{CardID: "pCARD", OpenID: "oUSER", OuterStr: "mini"}
	before := time.Now().Unix()
	ext, err := c.CardExt(ctx, req)
	require.NoError(t, err)
	assertSignedWith(t, "TICKET-wxOA-1", req, ext)
	m := decodeExt(t, ext.Ext)
	ts, _ := strconv.ParseInt(m["timestamp"].(string), 10, 64)
	assert.GreaterOrEqual(t, ts, before)
	assert.LessOrEqual(t, ts, time.Now().Unix())
	assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{32}$`), m["nonce_str"])

	// Ready for wx.addCard's cardList.
	list, err := json.Marshal([]card.CardExt{ext})
	require.NoError(t, err)
	var back []map[string]string
	require.NoError(t, json.Unmarshal(list, &back))
	assert.Equal(t, "pCARD", back[0]["cardId"])
	assert.Equal(t, ext.Ext, back[0]["cardExt"])

	// Validation comes before the ticket.
	_, err = card.New(e.authorizer("wxFRESH"), e.tickets).CardExt(ctx, card.CardExtRequest{})
	require.True(t, wxerr.IsValidation(err))
	assert.EqualValues(t, 0, tr.count("wxFRESH"))
}

func BenchmarkCardExt(b *testing.B) {
	e := setup(b)
	e.serveTickets(b)
	c := e.card(oaAppID)
	ctx := context.Background()
	req := card.CardExtRequest{CardID: "pFS7Fjg8kV1IdDz01r4SQwMkuCKc", Code: "110201201245", OpenID: "oFS7Fjl0WsZ9AMZqrI80nbIq8xrA"}
	if _, err := c.CardExt(ctx, req); err != nil { // warm the ticket
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.CardExt(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignCardExt(b *testing.B) {
	req := card.CardExtRequest{CardID: "pFS7Fjg8kV1IdDz01r4SQwMkuCKc", Code: "110201201245", OpenID: "oFS7Fjl0WsZ9AMZqrI80nbIq8xrA"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := card.SignCardExt("TICKET", req, 1717171717, "Xy7Qw2p9"); err != nil {
			b.Fatal(err)
		}
	}
}
