package crypto

import (
	"strings"
	"testing"
)

// verifyTicketPush is a component_verify_ticket push as WeChat sends it every ten minutes: about
// 300 bytes of XML before encryption.
var verifyTicketPush = "<xml><AppId><![CDATA[wx0123456789abcdef]]></AppId><CreateTime>1700000000</CreateTime>" +
	"<InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[ticket@@@" +
	strings.Repeat("Xq3vT8kLmN2pR5sW", 10) + "]]></ComponentVerifyTicket></xml>"

func BenchmarkDecryptMessage(b *testing.B) {
	c := newA(b)
	enc, err := c.Encrypt([]byte(verifyTicketPush))
	mustNoErr(b, err, "Encrypt")
	body := []byte("<xml><AppId><![CDATA[" + aAppID + "]]></AppId><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>")
	const ts, nonce = "1700000000", "1320562132"
	sig := c.Signature(ts, nonce, enc)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		msg, err := c.DecryptMessage(sig, ts, nonce, body)
		if err != nil || len(msg) != len(verifyTicketPush) {
			b.Fatalf("DecryptMessage: %v", err)
		}
	}
}

// BenchmarkDecryptMessageXMLFallback is DecryptMessage for an envelope only encoding/xml accepts
// (an XML declaration), to show what the allocation-free envelope parser saves.
func BenchmarkDecryptMessageXMLFallback(b *testing.B) {
	c := newA(b)
	enc, err := c.Encrypt([]byte(verifyTicketPush))
	mustNoErr(b, err, "Encrypt")
	body := []byte(`<?xml version="1.0"?><xml><AppId><![CDATA[` + aAppID + "]]></AppId><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>")
	const ts, nonce = "1700000000", "1320562132"
	sig := c.Signature(ts, nonce, enc)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.DecryptMessage(sig, ts, nonce, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncryptMessage(b *testing.B) {
	c := newA(b)
	msg := []byte(verifyTicketPush)
	b.ReportAllocs()
	for range b.N {
		if _, err := c.EncryptMessage(msg, "1700000000", "1320562132"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSortedSHA1(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		if SortedSHA1("TEST_API_TICKET", "1700000000", "pCARD_ID_EXAMPLE", "CODE123", "NONCE01") == "" {
			b.Fatal("empty")
		}
	}
}

func BenchmarkVerifyURLSignature(b *testing.B) {
	c := newA(b)
	b.ReportAllocs()
	for range b.N {
		if !c.VerifyURLSignature(aURLSig, aTimestamp, aNonce) {
			b.Fatal("mismatch")
		}
	}
}

func BenchmarkDecryptUserData(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		if _, err := DecryptUserData(UserData{SessionKey: udSessionKey, IV: udIV, EncryptedData: udData, AppID: udAppID}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDecryptMessageAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation count")
	}
	c := newA(t)
	enc, err := c.Encrypt([]byte(verifyTicketPush))
	mustNoErr(t, err, "Encrypt")
	body := []byte("<xml><AppId><![CDATA[" + aAppID + "]]></AppId><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>")
	sig := c.Signature("1700000000", "1320562132", enc)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := c.DecryptMessage(sig, "1700000000", "1320562132", body); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 10 {
		t.Fatalf("DecryptMessage: %.0f allocs per call, budget 10", allocs)
	}
	t.Logf("DecryptMessage: %.0f allocs per call (push of %d bytes)", allocs, len(body))
}
