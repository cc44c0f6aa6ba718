package paytest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// authScheme is the only request signature scheme of WeChat Pay API v3.
const authScheme = "WECHATPAY2-SHA256-RSA2048"

// signatureWindow is how far a request timestamp may be from the emulator clock.
const signatureWindow = 5 * time.Minute

// authorization is a parsed Authorization header.
type authorization struct {
	mchID, nonce, timestamp, serial, signature string
}

// parseAuthorization parses `WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",timestamp="…",
// serial_no="…",signature="…"`.
func parseAuthorization(h string) (authorization, error) {
	var a authorization
	scheme, params, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || scheme != authScheme {
		return a, errors.New("Authorization must use the " + authScheme + " scheme")
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(params, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			return a, errors.New("malformed Authorization parameter")
		}
		v = v[1 : len(v)-1]
		if seen[k] {
			return a, errors.New("repeated Authorization parameter " + k)
		}
		seen[k] = true
		switch k {
		case "mchid":
			a.mchID = v
		case "nonce_str":
			a.nonce = v
		case "timestamp":
			a.timestamp = v
		case "serial_no":
			a.serial = v
		case "signature":
			a.signature = v
		}
	}
	if a.mchID == "" || a.nonce == "" || a.timestamp == "" || a.serial == "" || a.signature == "" {
		return a, errors.New("Authorization needs mchid, nonce_str, timestamp, serial_no and signature")
	}
	return a, nil
}

// verifyRequest checks the request signature: "METHOD\nURI\nTIMESTAMP\nNONCE\nBODY\n" signed with
// SHA256-with-RSA by the merchant's key. It returns the calling merchant; the mchid is returned even
// on failure when the header could be parsed.
func (s *Server) verifyRequest(r *http.Request, body []byte) (*Merchant, string, error) {
	a, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	m := s.merchants[a.mchID]
	s.mu.Unlock()
	if m == nil {
		return nil, a.mchID, errors.New("merchant " + a.mchID + " is not registered")
	}
	if a.serial != m.SerialNo {
		return nil, a.mchID, errors.New("serial_no " + a.serial + " is not the merchant's certificate")
	}
	ts, err := strconv.ParseInt(a.timestamp, 10, 64)
	if err != nil {
		return nil, a.mchID, errors.New("timestamp is not a number")
	}
	if d := s.now().Sub(time.Unix(ts, 0)); d > signatureWindow || d < -signatureWindow {
		return nil, a.mchID, errors.New("timestamp is more than 5 minutes away")
	}
	sig, err := base64.StdEncoding.DecodeString(a.signature)
	if err != nil {
		return nil, a.mchID, errors.New("signature is not base64")
	}
	msg := r.Method + "\n" + r.RequestURI + "\n" + a.timestamp + "\n" + a.nonce + "\n" + string(body) + "\n"
	sum := sha256.Sum256([]byte(msg))
	if err := rsa.VerifyPKCS1v15(m.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return nil, a.mchID, errors.New("signature does not verify with the merchant's public key")
	}
	return m, a.mchID, nil
}

// signedHeaders signs body as WeChat Pay does ("TIMESTAMP\nNONCE\nBODY\n") and sets the
// Wechatpay-* headers on h.
func (s *Server) signedHeaders(h http.Header, body []byte) error {
	ts := strconv.FormatInt(s.now().Unix(), 10)
	nonce := randString(32)
	sum := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		return err
	}
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	h.Set("Wechatpay-Serial", s.keyID)
	h.Set("Wechatpay-Signature-Type", authScheme)
	return nil
}

// apiError is an error answer.
type apiError struct {
	status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func errorf(status int, code, msg string) *apiError {
	return &apiError{status: status, Code: code, Message: msg}
}

// writeSigned writes a signed JSON answer (or an empty one for 204).
func (s *Server) writeSigned(w http.ResponseWriter, status int, v any) {
	var body []byte
	if status != http.StatusNoContent {
		var err error
		if body, err = json.Marshal(v); err != nil {
			status, body = http.StatusInternalServerError, []byte(`{"code":"SYSTEM_ERROR","message":"encode"}`)
		}
	}
	if err := s.signedHeaders(w.Header(), body); err != nil {
		http.Error(w, "sign", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Request-ID", "paytest-"+randString(16))
	if body != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
