package wxopen_test

// The README's "Testing your code against wxtest" snippet is TestMerchantGoesLive below, verbatim:
// TestREADMEShowsTheTestingSnippet fails when the two differ, so the README cannot drift from code
// that compiles and passes.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	wxopen "github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/wxtest"
)

// README:begin
func TestMerchantGoesLive(t *testing.T) {
	ctx := context.Background()
	emu := wxtest.NewTestServer(t) // closed at the end; a push your handler refuses fails the test
	app := emu.Component()
	p, err := wxopen.New(wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret,
		Token: app.Token, EncodingAESKey: app.EncodingAESKey}, wxopen.WithBaseURL(emu.URL),
		wxopen.WithClock(emu.Now)) // tokens and handlers on the emulator's clock: emu.Advance acts as real time
	require.NoError(t, err)

	// Your two push URLs, mounted as in production.
	var approved atomic.Bool
	auth, err := p.Handler(component.HandlerConfig{})
	require.NoError(t, err)
	msg, err := p.MessageHandler(component.MessageHandlerConfig{
		OnAuditSuccess: func(context.Context, *component.AuditSuccessEvent) error { approved.Store(true); return nil }})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/wechat/auth", auth)
	mux.Handle("/wechat/msg/{appid}", msg)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	emu.SetEventURLs(srv.URL+"/wechat/auth", srv.URL+"/wechat/msg/$APPID$")

	// WeChat's side: the 10-minute ticket push, then a merchant consents.
	const merchant = "wx6e0d15a1b2c3d4e5"
	_, err = emu.PushVerifyTicket(ctx)
	require.NoError(t, err)
	emu.AddAuthorizer(wxtest.Authorizer{AppID: merchant, UserName: "gh_6e0d15a1b2c3", MiniProgram: true})
	_, err = emu.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: merchant})
	require.NoError(t, err)

	// An endpoint the emulator does not emulate, called through the escape hatch.
	const trend = "/datacube/getweanalysisappiddailysummarytrend"
	emu.Handle(trend, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"list":[{"ref_date":"20240101","visit_total":42}]}`))
	}))
	var out struct {
		List []struct {
			VisitTotal int `json:"visit_total"`
		} `json:"list"`
	}
	err = p.Authorizer(merchant).Do(ctx, authorizer.Request{Method: "POST", Path: trend,
		Body: map[string]string{"begin_date": "20240101", "end_date": "20240101"}}, &out)
	require.NoError(t, err)
	assert.Equal(t, 42, out.List[0].VisitTotal)

	// A message push to the merchant's URL reaches your callback.
	err = emu.PushAuthorizerEvent(ctx, merchant, []byte(`<xml><ToUserName>gh_6e0d15a1b2c3</ToUserName>`+
		`<CreateTime>1700000000</CreateTime><MsgType>event</MsgType><Event>weapp_audit_success</Event>`+
		`<SuccTime>1700000000</SuccTime></xml>`))
	require.NoError(t, err)
	assert.True(t, approved.Load())
	assert.Equal(t, 1, emu.Calls(trend))
}

// README:end

func TestREADMEShowsTheTestingSnippet(t *testing.T) {
	src, err := os.ReadFile("readme_test.go")
	require.NoError(t, err)
	code := string(src)
	begin, end := strings.Index(code, "// README:begin\n"), strings.Index(code, "\n// README:end")
	require.True(t, begin >= 0 && end > begin, "markers in readme_test.go")
	snippet := code[begin+len("// README:begin\n") : end]

	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	doc := string(readme)
	section := strings.Index(doc, "## Testing your code against wxtest")
	require.GreaterOrEqual(t, section, 0)
	start := strings.Index(doc[section:], "```go\n")
	require.GreaterOrEqual(t, start, 0, "the section has a go block")
	block := doc[section+start+len("```go\n"):]
	block = block[:strings.Index(block, "```\n")]
	assert.Equal(t, snippet, block, "README.md's testing snippet must be TestMerchantGoesLive of readme_test.go, verbatim")
}
