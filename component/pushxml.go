package component

import (
	"net/url"
	"strings"

	"github.com/wxopen-go/wxopen/crypto"
)

// WeChat's pushes are flat XML: <xml> and one level of elements holding text or CDATA. They are read
// with crypto.ScanFlatXML, which allocates nothing; anything it does not vouch for (a nested <info>,
// entities, a declaration…) goes through encoding/xml (decodeXML), which is authoritative. Within the
// scanner's subset both give the same fields: repeated elements keep the last, an empty number is 0,
// and a number that is not plain decimal digits falls back to encoding/xml.

// decodePlatformXML decodes a decrypted platform push.
func decodePlatformXML(b []byte, x *platformXML) error {
	ok := true
	if crypto.ScanFlatXML(b, func(name, v []byte) {
		switch string(name) {
		case "AppId":
			x.AppID = string(v)
		case "CreateTime":
			x.CreateTime, ok = flatInt(v, ok)
		case "InfoType":
			x.InfoType = string(v)
		case "ComponentVerifyTicket":
			x.ComponentVerifyTicket = string(v)
		case "AuthorizerAppid":
			x.AuthorizerAppid = string(v)
		case "AuthorizationCode":
			x.AuthorizationCode = string(v)
		case "AuthorizationCodeExpiredTime":
			x.AuthorizationCodeExpiredTime, ok = flatInt(v, ok)
		case "PreAuthCode":
			x.PreAuthCode = string(v)
		case "appid":
			x.RegAppID = string(v)
		case "status":
			var n int64
			n, ok = flatInt(v, ok)
			x.Status = int(n)
		case "auth_code":
			x.AuthCode = string(v)
		case "msg":
			x.Msg = string(v)
		case "taskid":
			x.TaskID = string(v)
		case "info":
			ok = false // a nested element in WeChat's pushes: encoding/xml
		}
	}) && ok {
		return nil
	}
	*x = platformXML{}
	return decodeXML(b, x)
}

// decodeMessageXML decodes a decrypted message push.
func decodeMessageXML(b []byte, x *messageXML) error {
	ok := true
	if crypto.ScanFlatXML(b, func(name, v []byte) {
		switch string(name) {
		case "ToUserName":
			x.ToUserName = string(v)
		case "FromUserName":
			x.FromUserName = string(v)
		case "CreateTime":
			x.CreateTime, ok = flatInt(v, ok)
		case "MsgType":
			x.MsgType = string(v)
		case "Event":
			x.Event = string(v)
		case "SuccTime":
			x.SuccTime, ok = flatInt(v, ok)
		case "FailTime":
			x.FailTime, ok = flatInt(v, ok)
		case "DelayTime":
			x.DelayTime, ok = flatInt(v, ok)
		case "Reason":
			x.Reason = string(v)
		case "ScreenShot":
			x.ScreenShot = string(v)
		}
	}) && ok {
		return nil
	}
	*x = messageXML{}
	return decodeXML(b, x)
}

// flatInt parses an element's number as encoding/xml does for the subset it is sure of: empty is 0,
// else an optional '-' and 1 to 18 decimal digits. Anything else clears ok (encoding/xml decides).
func flatInt(v []byte, ok bool) (int64, bool) {
	if len(v) == 0 {
		return 0, ok
	}
	neg := v[0] == '-'
	if neg {
		v = v[1:]
	}
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, ch := range v {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		n = n*10 + int64(ch-'0')
	}
	if neg {
		n = -n
	}
	return n, ok
}

// pushParams returns the timestamp, nonce and msg_signature of a push's query string, as
// u.Query().Get would, without allocating for the plain query strings WeChat sends; a query with
// escapes ('%', '+') or ';' is parsed by net/url.
func pushParams(u *url.URL) (ts, nonce, sig string) {
	raw := u.RawQuery
	if strings.ContainsAny(raw, "%+;") {
		q := u.Query()
		return q.Get("timestamp"), q.Get("nonce"), q.Get("msg_signature")
	}
	var seenTS, seenNonce, seenSig bool
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		switch {
		case k == "timestamp" && !seenTS:
			ts, seenTS = v, true
		case k == "nonce" && !seenNonce:
			nonce, seenNonce = v, true
		case k == "msg_signature" && !seenSig:
			sig, seenSig = v, true
		}
	}
	return ts, nonce, sig
}
