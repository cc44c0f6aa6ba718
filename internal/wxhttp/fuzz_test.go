package wxhttp_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/wxopen-go/wxopen/internal/wxhttp"
	"github.com/wxopen-go/wxopen/wxerr"
)

// FuzzResponseDecoding feeds arbitrary answers to the one decode path: it must never panic, never
// report success for a body whose errcode is a non-zero number, and always produce an *APIError with
// that code when it says the call failed with one.
func FuzzResponseDecoding(f *testing.F) {
	for _, s := range []string{
		`{"errcode":0,"errmsg":"ok"}`, `{"errcode":40001,"errmsg":"invalid credential"}`, `{}`, `[]`, ``,
		`{"errcode":"40001"}`, `{"errcode":1e3}`, `{"errcode":-1}`, `{"errcode":null}`, `<xml/>`,
		`{"errcode":0,"x":{"errcode":5}}`, `{"errcode":99999999999999999999}`, "\xff\xfe",
		`{"component_access_token":"t","expires_in":7200}`,
	} {
		f.Add([]byte(s), "application/json")
	}
	f.Add([]byte("\xff\xd8\xff"), "image/jpeg")
	f.Fuzz(func(t *testing.T, body []byte, ctype string) {
		mt := httpmock.NewMockTransport()
		mt.RegisterResponder("GET", "https://api.weixin.qq.com/x", func(*http.Request) (*http.Response, error) {
			r := httpmock.NewBytesResponse(200, body)
			r.Header.Set("Content-Type", ctype)
			return r, nil
		})
		c, err := wxhttp.New(wxhttp.Config{HTTPClient: &http.Client{Transport: mt}, Retry: wxhttp.RetryPolicy{MaxAttempts: 1}})
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		err = c.Do(context.Background(), &wxhttp.Request{Method: "GET", Path: "/x"}, &out)
		var ae *wxerr.APIError
		if errors.As(err, &ae) && ae.Code == 0 {
			t.Fatalf("APIError with code 0 for %q", body)
		}
		if err == nil {
			if code, ok := out["errcode"].(float64); ok && code != 0 {
				t.Fatalf("success reported for errcode %v in %q", code, body)
			}
		}
		_, _, _ = c.DoBytes(context.Background(), &wxhttp.Request{Method: "GET", Path: "/x"})
	})
}
