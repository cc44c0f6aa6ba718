package miniprogram_test

import (
	"strings"
	"testing"

	"github.com/wxopen-go/wxopen/miniprogram"
)

// FuzzTemplateKeys: the keys read from any template content are the names between "{{" and
// ".DATA}}", never empty of meaning, and reading never panics.
func FuzzTemplateKeys(f *testing.F) {
	for _, seed := range []string{"", "金额:{{amount2.DATA}}\n", "{{", ".DATA}}{{x.DATA}}", "{{a.DATA}}{{b.DATA"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, content string) {
		for _, k := range (miniprogram.SubscribeTemplate{Content: content}).Keys() {
			if strings.Contains(k, ".DATA}}") {
				t.Fatalf("key %q holds the terminator", k)
			}
			if !strings.Contains(content, "{{"+k+".DATA}}") {
				t.Fatalf("key %q is not in %q", k, content)
			}
		}
	})
}

// FuzzValidScene: a scene ValidScene accepts is 1 to 32 bytes of WeChat's charset.
func FuzzValidScene(f *testing.F) {
	for _, seed := range []string{"", "t=12&s=7", "桌1", strings.Repeat("a", 33)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, scene string) {
		if !miniprogram.ValidScene(scene) {
			return
		}
		if len(scene) == 0 || len(scene) > miniprogram.SceneMaxLen {
			t.Fatalf("accepted length %d", len(scene))
		}
		if strings.Trim(scene, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$&'()*+,/:;=?@-._~") != "" {
			t.Fatalf("accepted %q", scene)
		}
	})
}
