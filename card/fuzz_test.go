package card_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/wxopen-go/wxopen/card"
)

// FuzzParseActivateURL: the parser of activate/geturl answers never panics, and what it accepts is
// consistent: the required values are present, ExtraData mirrors them, and a URL built back from the
// parsed values parses to the same values.
func FuzzParseActivateURL(f *testing.F) {
	for _, s := range []string{
		"https://mp.weixin.qq.com/bizmall/activatemembercard?action=preshow&&encrypt_card_id=Ed2jZsd%2FZtNiKrQHVloHlA%3D%3D&outer_str=store-7&biz=OTY1ODkzNjk5MA%3D%3D#wechat_redirect",
		"https%3A%2F%2Fmp.weixin.qq.com%2Fbizmall%2Factivatemembercard%3Fencrypt_card_id%3DabcA%253D%253D%26biz%3DMzA%253D",
		"https://x/?encrypt_card_id=a+b==&biz=c%25253D",
		"", "%", "%%%", "?encrypt_card_id=&biz=", "https://x/?biz=1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := card.ParseActivateURL(raw)
		if err != nil {
			return
		}
		if p.EncryptCardID == "" || p.Biz == "" {
			t.Fatalf("accepted %q without its required values: %+v", raw, p)
		}
		if p.ExtraData.EncryptCardID != p.EncryptCardID || p.ExtraData.Biz != p.Biz || p.ExtraData.OuterStr != p.OuterStr {
			t.Fatalf("extraData differs from the parsed values for %q", raw)
		}
		if p.AppID != card.PluginAppID {
			t.Fatalf("plugin appid %q", p.AppID)
		}
		q := url.Values{"encrypt_card_id": {p.EncryptCardID}, "biz": {p.Biz}}
		if p.OuterStr != "" {
			q.Set("outer_str", p.OuterStr)
		}
		// Values holding '%' may be decoded once more (doubly encoded input), and a space comes back
		// as '+' (base64 values never hold spaces): only other values must survive a round trip.
		if strings.ContainsAny(p.EncryptCardID+p.Biz+p.OuterStr, "% ") {
			return
		}
		again, err := card.ParseActivateURL("https://mp.weixin.qq.com/bizmall/activatemembercard?" + q.Encode())
		if err != nil {
			t.Fatalf("re-encoded values of %q do not parse: %v", raw, err)
		}
		if again.EncryptCardID != p.EncryptCardID || again.Biz != p.Biz || again.OuterStr != p.OuterStr {
			t.Fatalf("round trip of %q: %+v != %+v", raw, again, p)
		}
	})
}
