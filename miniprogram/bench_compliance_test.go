package miniprogram_test

import (
	"context"
	"testing"

	"github.com/wxopen-go/wxopen/miniprogram"
)

// BenchmarkReadiness measures one Readiness (8 reads, concurrent) of a merchant ready to submit,
// against the emulator over loopback HTTP.
func BenchmarkReadiness(b *testing.B) {
	ctx := context.Background()
	e := newPlatform(b)
	e.s.SetPlatformDomains([]string{"api.dinehub.example"}, nil)
	g := e.onboard(ctx, 1, e.privacyTemplate(ctx), "")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r, err := g.mp.Readiness(ctx)
		if err != nil || !r.CanSubmit() {
			b.Fatal(err, r)
		}
	}
}

// BenchmarkBuildGuide measures building one merchant's guide from the platform's template.
func BenchmarkBuildGuide(b *testing.B) {
	scan := &miniprogram.PrivacyInfo{DetectedKeys: []string{"Location", "PhoneNumber", "Album"}}
	owner := miniprogram.PrivacyOwner{ContactPhone: "13800000000"}
	b.ReportAllocs()
	for range b.N {
		if _, err := miniprogram.BuildGuide(restaurantGuide, owner, scan); err != nil {
			b.Fatal(err)
		}
	}
}
