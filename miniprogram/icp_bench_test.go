package miniprogram_test

import (
	"testing"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/miniprogram"
)

// BenchmarkICPLookupCached reads a look-up table from the platform's warm cache: no request, one
// decode of the cached items (the cache holds five tables whatever the number of merchants).
func BenchmarkICPLookupCached(b *testing.B) {
	e := setup(b)
	e.expect(b, call{method: "GET", path: "/wxa/icp/query_icp_certificate_types",
		reply: `{"errcode":0,"items":[{"type":1,"subject_type":1,"name":"营业执照"},{"type":2,"subject_type":5,"name":"居民身份证"}]}`})
	l := miniprogram.NewICPLookups(0, nil)
	c := miniprogram.NewWithICPLookups(authorizer.New("wxAPP", e.caller, &tokens{name: "auth"}, e.comp), l)
	if _, err := c.ICP().CertificateTypes(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.ICP().CertificateTypes(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if n := e.calls("GET", "/wxa/icp/query_icp_certificate_types"); n != 1 {
		b.Fatalf("%d requests; want 1", n)
	}
}
