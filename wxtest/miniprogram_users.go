package wxtest

// Users of a mini program (API digest section 18): the phone number by code, the session check and
// the paid unionid. The session keys are those component jscode2session issued (login.go); a new
// login rotates the user's key, so checksession refuses the previous one with 87009.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/wxopen-go/wxopen/wxerr"
)

const (
	pathGetUserPhoneNumber = "/wxa/business/getuserphonenumber"
	pathCheckSession       = "/wxa/checksession"
	pathGetPaidUnionID     = "/wxa/getpaidunionid"
)

// Lifetimes of this file's codes and records.
const (
	phoneCodeTTL    = 5 * time.Minute // a getPhoneNumber code (digest 18.1: single use, about 5 minutes)
	paidUnionIDTTL  = 5 * time.Minute // getpaidunionid answers for payments this recent (18.3)
	codeInvalidSign = 87009           // checksession: invalid signature
	codeNoPayment   = 89300           // getpaidunionid: no such payment (digest: unverified)
)

func (s *Server) registerMPUsers() {
	s.route(http.MethodPost, pathGetUserPhoneNumber, authAuthorizer, s.mpPhoneNumber)
	s.route(http.MethodGet, pathCheckSession, authAuthorizer, s.mpCheckSession)
	s.route(http.MethodGet, pathGetPaidUnionID, authAuthorizer, s.mpPaidUnionID)
}

// usersState is this file's state.
type usersState struct {
	phoneCodes map[string]*phoneCode // by code; a code is deleted when used
	sweepAt    int                   // sweep expired codes when phoneCodes grows past this (amortised O(1))
	payments   map[string][]*payment // by appid
}

type phoneCode struct {
	appID, countryCode, number string
	expires                    time.Time
}

type payment struct {
	Payment
	at time.Time
}

func (s *Server) users() *usersState {
	return groupState(s, func() *usersState {
		return &usersState{phoneCodes: map[string]*phoneCode{}, payments: map[string][]*payment{}}
	})
}

// IssuePhoneCode plays a user of the mini program miniAppID tapping the getPhoneNumber button: it
// returns the code the mini program sends to its server, single-use and valid 5 minutes on the
// emulator clock. countryCode is "86" for mainland China, whose numbers WeChat returns without it in
// phoneNumber.
func (s *Server) IssuePhoneCode(miniAppID, countryCode, number string) (code string) {
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users()
	if len(u.phoneCodes) >= u.sweepAt {
		for c, pc := range u.phoneCodes {
			if !now.Before(pc.expires) {
				delete(u.phoneCodes, c)
			}
		}
		u.sweepAt = 2*len(u.phoneCodes) + 64
	}
	code = randHex(16)
	u.phoneCodes[code] = &phoneCode{appID: miniAppID, countryCode: countryCode, number: number, expires: now.Add(phoneCodeTTL)}
	return code
}

// mpPhoneNumber: POST /wxa/business/getuserphonenumber.
func (s *Server) mpPhoneNumber(c *call) (any, error) {
	var req struct {
		Code string `json:"code"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if req.Code == "" {
		return nil, missing("code")
	}
	codes := s.users().phoneCodes
	pc := codes[req.Code]
	if pc == nil || pc.appID != a.info.AppID || !c.now.Before(pc.expires) {
		return nil, apiErr(wxerr.CodeInvalidCode, "") // invalid, used or expired alike (digest 18.1)
	}
	delete(codes, req.Code)
	full := pc.number
	if pc.countryCode != "86" {
		full = "+" + pc.countryCode + " " + pc.number
	}
	return withOK(map[string]any{"phone_info": map[string]any{
		"phoneNumber": full, "purePhoneNumber": pc.number, "countryCode": pc.countryCode,
		"watermark": map[string]any{"timestamp": c.now.Unix(), "appid": a.info.AppID},
	}}), nil
}

// mpCheckSession: GET /wxa/checksession — the signature is the hex HMAC-SHA256 of "" keyed with the
// user's current session_key (digest 18.2).
func (s *Server) mpCheckSession(c *call) (any, error) {
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	openID, sig := c.query("openid"), c.query("signature")
	switch {
	case openID == "" || sig == "":
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: openid and signature are required")
	case c.query("sig_method") != "hmac_sha256":
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: sig_method must be hmac_sha256")
	}
	key, ok := s.sessions[userKey{a.info.AppID, openID}]
	if !ok {
		return nil, apiErr(codeInvalidSign, "invalid signature")
	}
	m := hmac.New(sha256.New, []byte(key))
	want := hex.EncodeToString(m.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return nil, apiErr(codeInvalidSign, "invalid signature")
	}
	return answerOK(), nil
}

// Payment is a WeChat Pay payment of a mini program's user, for getpaidunionid.
type Payment struct {
	OpenID        string
	TransactionID string
	MchID         string
	OutTradeNo    string
}

// RecordPayment plays the user p.OpenID paying in the mini program miniAppID now (emulator clock):
// for 5 minutes getpaidunionid answers the user's unionid for it. Payments older than that are
// dropped.
func (s *Server) RecordPayment(miniAppID string, p Payment) {
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users()
	kept := u.payments[miniAppID][:0]
	for _, old := range u.payments[miniAppID] {
		if now.Sub(old.at) < paidUnionIDTTL {
			kept = append(kept, old)
		}
	}
	u.payments[miniAppID] = append(kept, &payment{Payment: p, at: now})
}

// mpPaidUnionID: GET /wxa/getpaidunionid — the unionid of a user who paid in the last 5 minutes (the
// order named by transaction_id, or by mch_id with out_trade_no, or not at all: the user's latest); the
// mini program must be bound to an open-platform account (89002).
func (s *Server) mpPaidUnionID(c *call) (any, error) {
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	openID := c.query("openid")
	if openID == "" {
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: openid is required")
	}
	// The order is named by transaction_id, or by mch_id and out_trade_no together (digest 18.3).
	tid, mch, no := c.query("transaction_id"), c.query("mch_id"), c.query("out_trade_no")
	if (mch == "") != (no == "") || tid != "" && mch != "" {
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: transaction_id, or mch_id with out_trade_no")
	}
	open := s.mp().openOf[a.info.AppID]
	if open == "" {
		return nil, apiErr(wxerr.CodeOpenAccountNotBound, "")
	}
	var found bool
	for _, p := range s.users().payments[a.info.AppID] {
		if p.OpenID != openID || c.now.Sub(p.at) >= paidUnionIDTTL {
			continue
		}
		if (tid == "" || p.TransactionID == tid) && (mch == "" || p.MchID == mch) && (no == "" || p.OutTradeNo == no) {
			found = true
			break
		}
	}
	if !found {
		return nil, apiErr(codeNoPayment, "no payment of this user in the last 5 minutes")
	}
	union := s.unionIDs[userKey{a.info.AppID, openID}]
	if union == "" {
		sum := sha256.Sum256([]byte(open + "\x00" + openID))
		union = "oU" + hex.EncodeToString(sum[:])[:26]
	}
	return withOK(map[string]any{"unionid": union}), nil
}
