package component

import (
	"net/url"
	"reflect"
	"testing"
)

// FuzzDecodePushXML is differential: the flat-XML decoders of platform and message pushes give what
// encoding/xml gives (decodeXML), or fail where it fails.
func FuzzDecodePushXML(f *testing.F) {
	f.Add([]byte("<xml><AppId><![CDATA[wx1]]></AppId><CreateTime>1413192605</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType>" +
		"<ComponentVerifyTicket><![CDATA[ticket@@@x]]></ComponentVerifyTicket></xml>"))
	f.Add([]byte("<xml><AppId>wx1</AppId><CreateTime>1</CreateTime><InfoType>authorized</InfoType><AuthorizerAppid>wxA</AuthorizerAppid>" +
		"<AuthorizationCode>c</AuthorizationCode><AuthorizationCodeExpiredTime>-5</AuthorizationCodeExpiredTime><PreAuthCode>p</PreAuthCode></xml>"))
	f.Add([]byte("<xml><appid>wxN</appid><status>0</status><auth_code>a</auth_code><msg>OK</msg><info><name>n</name></info><taskid>t</taskid></xml>"))
	f.Add([]byte("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType>" +
		"<Event>weapp_audit_fail</Event><Reason><![CDATA[包含<br>色情]]></Reason><FailTime>2</FailTime><ScreenShot>a|b</ScreenShot></xml>"))
	f.Add([]byte("<xml><CreateTime> 7 </CreateTime><SuccTime>+1</SuccTime><DelayTime>99999999999999999999</DelayTime><status></status></xml>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fastP, slowP platformXML
		errFast, errSlow := decodePlatformXML(b, &fastP), decodeXML(b, &slowP)
		if (errFast == nil) != (errSlow == nil) || errFast == nil && !reflect.DeepEqual(fastP, slowP) {
			t.Fatalf("platform push %q: flat %+v %v, encoding/xml %+v %v", b, fastP, errFast, slowP, errSlow)
		}
		var fastM, slowM messageXML
		errFast, errSlow = decodeMessageXML(b, &fastM), decodeXML(b, &slowM)
		if (errFast == nil) != (errSlow == nil) || errFast == nil && fastM != slowM {
			t.Fatalf("message push %q: flat %+v %v, encoding/xml %+v %v", b, fastM, errFast, slowM, errSlow)
		}
	})
}

func TestPushParamsAsURLQuery(t *testing.T) {
	for _, raw := range []string{
		"signature=s&timestamp=1409304348&nonce=xxxxxx&encrypt_type=aes&msg_signature=abc",
		"timestamp=1&timestamp=2&nonce=&msg_signature=x", "nonce=a%20b&timestamp=1&msg_signature=s",
		"timestamp=1;nonce=2&msg_signature=3", "timestamp", "=1&&nonce=2=3", "", "msg_signature=a+b",
	} {
		u := &url.URL{RawQuery: raw}
		ts, nonce, sig := pushParams(u)
		q := u.Query()
		if ts != q.Get("timestamp") || nonce != q.Get("nonce") || sig != q.Get("msg_signature") {
			t.Errorf("%q: %q %q %q, net/url %q %q %q", raw, ts, nonce, sig, q.Get("timestamp"), q.Get("nonce"), q.Get("msg_signature"))
		}
	}
	u := &url.URL{RawQuery: "signature=s&timestamp=1409304348&nonce=xxxxxx&encrypt_type=aes&msg_signature=abc"}
	if n := testing.AllocsPerRun(100, func() { pushParams(u) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
