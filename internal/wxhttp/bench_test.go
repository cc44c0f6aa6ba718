package wxhttp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wxopen-go/wxopen/internal/wxhttp"
)

const benchAnswer = `{"errcode":0,"errmsg":"ok","category_list":[{"first_class":"餐饮","second_class":"餐厅","first_id":220,"second_id":225}]}`

type categories struct {
	List []struct {
		First    string `json:"first_class"`
		Second   string `json:"second_class"`
		FirstID  int    `json:"first_id"`
		SecondID int    `json:"second_id"`
	} `json:"category_list"`
}

func benchServer(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, benchAnswer)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkCallTyped is one typed call (token in the query, errcode check, decode) through wxhttp to a
// local server. Compare with BenchmarkCallRawNetHTTP: same server, same answer, same decode.
func BenchmarkCallTyped(b *testing.B) {
	srv := benchServer(b)
	c, err := wxhttp.New(wxhttp.Config{BaseURL: srv.URL, HTTPClient: srv.Client()})
	if err != nil {
		b.Fatal(err)
	}
	tokens := &fakeTokens{}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var out categories
		if err := c.Do(ctx, &wxhttp.Request{Method: "GET", Path: "/wxa/get_category", Token: tokens, Idempotent: true}, &out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallRawNetHTTP(b *testing.B) {
	srv := benchServer(b)
	hc := srv.Client()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/wxa/get_category?access_token=SECRET-TOKEN-1", nil)
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
		var out categories
		if err := json.Unmarshal(body, &out); err != nil {
			b.Fatal(err)
		}
	}
}
