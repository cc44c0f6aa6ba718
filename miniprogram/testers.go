package miniprogram

import (
	"context"
	"errors"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Testers (体验者, API digest part 2, section 12.8): only testers and administrators can open the
// trial version.

// BindTester makes the person with WeChat ID wechatID a tester and returns their userstr, an opaque
// id to keep (WeChat never returns the WeChat ID). 85004 means they already are one.
//
// WeChat: POST /wxa/bind_tester
func (c *Client) BindTester(ctx context.Context, wechatID string) (userstr string, err error) {
	if err := validateWeChatID(wechatID); err != nil {
		return "", err
	}
	var out struct {
		UserStr string `json:"userstr"`
	}
	if err := c.call(ctx, post("/wxa/bind_tester", map[string]string{"wechatid": wechatID}, false), &out); err != nil {
		return "", err
	}
	if out.UserStr == "" {
		return "", errors.New("wxopen: POST /wxa/bind_tester: answer has no userstr")
	}
	return out.UserStr, nil
}

// Tester names a tester to unbind: by WeChatID or by UserStr (exactly one).
type Tester struct {
	WeChatID string `json:"wechatid,omitempty"`
	UserStr  string `json:"userstr,omitempty"`
}

// UnbindTester removes a tester.
//
// WeChat: POST /wxa/unbind_tester
func (c *Client) UnbindTester(ctx context.Context, t Tester) error {
	if (t.WeChatID == "") == (t.UserStr == "") {
		return wxerr.Invalid("wechatid", "exactly one of wechatid and userstr")
	}
	if t.WeChatID != "" {
		if err := validateWeChatID(t.WeChatID); err != nil {
			return err
		}
	}
	return c.call(ctx, post("/wxa/unbind_tester", t, false), nil)
}

// Testers returns the userstr of every tester.
//
// WeChat: POST /wxa/memberauth
func (c *Client) Testers(ctx context.Context) ([]string, error) {
	var out struct {
		Members []struct {
			UserStr string `json:"userstr"`
		} `json:"members"`
	}
	if err := c.call(ctx, post("/wxa/memberauth", map[string]string{"action": "get_experiencer"}, true), &out); err != nil {
		return nil, err
	}
	list := make([]string, 0, len(out.Members))
	for _, m := range out.Members {
		list = append(list, m.UserStr)
	}
	return list, nil
}

// validateWeChatID checks the shape of a WeChat ID: a letter, then 5 to 19 letters, digits, - or _.
func validateWeChatID(id string) error {
	letter := func(ch byte) bool { return 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' }
	ok := len(id) >= 6 && len(id) <= 20 && letter(id[0])
	for i := 1; ok && i < len(id); i++ {
		ch := id[i]
		ok = letter(ch) || '0' <= ch && ch <= '9' || ch == '-' || ch == '_'
	}
	if !ok {
		return wxerr.Invalid("wechatid", "a WeChat ID: a letter, then 5 to 19 letters, digits, - or _")
	}
	return nil
}
