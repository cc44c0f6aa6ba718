package paytest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// maxBody bounds request bodies.
const maxBody = 1 << 20

// order is one JSAPI order. In partner mode appID/mchID are the sub_appid/sub_mchid.
type order struct {
	partner          bool
	appID, mchID     string
	spAppID, spMchID string
	openID           string
	description      string
	outTradeNo       string
	attach           string
	notifyURL        string
	timeExpire       string
	total            int64
	prepayID         string
	transactionID    string
	state, stateDesc string
	successTime      time.Time
	refunded         int64 // accepted refunds (processing or succeeded)
}

// owner is the merchant number whose order numbers the order shares: mchid or sub_mchid.
func (o *order) key() string { return o.mchID + "/" + o.outTradeNo }

// receiver is the account whose APIv3 key encrypts the order's notifications.
func (o *order) receiver() string {
	if o.partner {
		return o.spMchID
	}
	return o.mchID
}

// apiHandler serves one verified request: caller is the merchant that signed it.
type apiHandler func(r *http.Request, caller *Merchant, body []byte) (int, any, *apiError)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /v3/pay/transactions/jsapi", s.api(s.prepay(false)))
	mux.Handle("POST /v3/pay/partner/transactions/jsapi", s.api(s.prepay(true)))
	mux.Handle("GET /v3/pay/transactions/out-trade-no/{out_trade_no}", s.api(s.query(false, false)))
	mux.Handle("GET /v3/pay/transactions/id/{transaction_id}", s.api(s.query(false, true)))
	mux.Handle("GET /v3/pay/partner/transactions/out-trade-no/{out_trade_no}", s.api(s.query(true, false)))
	mux.Handle("GET /v3/pay/partner/transactions/id/{transaction_id}", s.api(s.query(true, true)))
	mux.Handle("POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close", s.api(s.close(false)))
	mux.Handle("POST /v3/pay/partner/transactions/out-trade-no/{out_trade_no}/close", s.api(s.close(true)))
	mux.Handle("POST /v3/refund/domestic/refunds", s.api(s.createRefund))
	mux.Handle("GET /v3/refund/domestic/refunds/{out_refund_no}", s.api(s.queryRefund))
	mux.Handle("/", s.api(func(*http.Request, *Merchant, []byte) (int, any, *apiError) {
		return 0, nil, errorf(http.StatusNotFound, "NOT_FOUND", "no such API in the emulator")
	}))
	return mux
}

// api verifies the request signature, runs h, signs and writes the answer, and records the request.
func (s *Server) api(h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		rec := Request{Method: r.Method, URI: r.RequestURI, Body: body}
		var (
			status int
			out    any
			ae     *apiError
		)
		switch caller, mchID, verr := s.verifyRequest(r, body); {
		case err != nil || len(body) > maxBody:
			rec.MchID = mchID
			ae = errorf(http.StatusBadRequest, "PARAM_ERROR", "cannot read the body")
		case verr != nil:
			rec.MchID = mchID
			ae = errorf(http.StatusUnauthorized, "SIGN_ERROR", "签名错误: "+verr.Error())
		default:
			rec.MchID = mchID
			status, out, ae = h(r, caller, body)
		}
		if ae != nil {
			status, out, rec.Code = ae.status, ae, ae.Code
		}
		rec.Status = status
		s.mu.Lock()
		s.requests = append(s.requests, rec)
		s.mu.Unlock()
		s.writeSigned(w, status, out)
	})
}

type amountJSON struct {
	Total    int64  `json:"total"`
	Currency string `json:"currency"`
}

type prepayBody struct {
	AppID       string      `json:"appid"`
	MchID       string      `json:"mchid"`
	SpAppID     string      `json:"sp_appid"`
	SpMchID     string      `json:"sp_mchid"`
	SubAppID    string      `json:"sub_appid"`
	SubMchID    string      `json:"sub_mchid"`
	Description string      `json:"description"`
	OutTradeNo  string      `json:"out_trade_no"`
	TimeExpire  string      `json:"time_expire"`
	Attach      string      `json:"attach"`
	NotifyURL   string      `json:"notify_url"`
	Amount      *amountJSON `json:"amount"`
	Payer       *struct {
		OpenID    string `json:"openid"`
		SubOpenID string `json:"sub_openid"`
	} `json:"payer"`
}

func validOutTradeNo(s string) bool {
	if len(s) < 6 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '|' || c == '*') {
			return false
		}
	}
	return true
}

func validNotifyURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.RawQuery == "" && len(s) <= 256
}

func bound(appIDs []string, appID string) bool {
	return len(appIDs) == 0 || slices.Contains(appIDs, appID)
}

func (s *Server) prepay(partner bool) apiHandler {
	return func(_ *http.Request, caller *Merchant, body []byte) (int, any, *apiError) {
		var in prepayBody
		if err := json.Unmarshal(body, &in); err != nil {
			return 0, nil, errorf(http.StatusBadRequest, "PARAM_ERROR", "body is not JSON: "+err.Error())
		}
		o := &order{partner: partner, description: in.Description, outTradeNo: in.OutTradeNo, attach: in.Attach,
			notifyURL: in.NotifyURL, timeExpire: in.TimeExpire, state: "NOTPAY", stateDesc: "订单未支付"}
		if in.Amount != nil {
			o.total = in.Amount.Total
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if partner {
			if in.SpMchID != caller.MchID {
				return 0, nil, errorf(http.StatusBadRequest, "PARAM_ERROR", "sp_mchid is not the signing merchant")
			}
			if in.SpAppID == "" || !bound(caller.AppIDs, in.SpAppID) {
				return 0, nil, errorf(http.StatusBadRequest, "APPID_MCHID_NOT_MATCH", "sp_appid is not bound to sp_mchid")
			}
			sub := s.subs[in.SubMchID]
			if sub == nil || sub.SpMchID != caller.MchID {
				return 0, nil, errorf(http.StatusBadRequest, "INVALID_REQUEST", "sub_mchid is not a sub-merchant of sp_mchid")
			}
			if in.SubAppID == "" || !bound(sub.AppIDs, in.SubAppID) {
				return 0, nil, errorf(http.StatusBadRequest, "APPID_MCHID_NOT_MATCH", "sub_appid is not bound to sub_mchid")
			}
			if in.Payer == nil || in.Payer.SubOpenID == "" {
				return 0, nil, errorf(http.StatusBadRequest, "PARAM_ERROR", "payer.sub_openid is required")
			}
			o.spAppID, o.spMchID, o.appID, o.mchID, o.openID = in.SpAppID, in.SpMchID, in.SubAppID, in.SubMchID, in.Payer.SubOpenID
		} else {
			if in.MchID != caller.MchID {
				return 0, nil, errorf(http.StatusBadRequest, "PARAM_ERROR", "mchid is not the signing merchant")
			}
			if in.AppID == "" || !bound(caller.AppIDs, in.AppID) {
				return 0, nil, errorf(http.StatusBadRequest, "APPID_MCHID_NOT_MATCH", "appid is not bound to mchid")
			}
			if in.Payer == nil || in.Payer.OpenID == "" {
				return 0, nil, errorf(http.StatusBadRequest, "PARAM_ERROR", "payer.openid is required")
			}
			o.appID, o.mchID, o.openID = in.AppID, in.MchID, in.Payer.OpenID
		}
		switch {
		case in.Description == "":
			return 0, nil, errorf(http.StatusBadRequest, "PARAM_ERROR", "description is required")
		case !validOutTradeNo(in.OutTradeNo):
			return 0, nil, errorf(http.StatusBadRequest, "PARAM_ERROR", "out_trade_no must be 6 to 32 characters of A-Z a-z 0-9 _ - | *")
		case in.Amount == nil || in.Amount.Total <= 0:
			return 0, nil, errorf(http.StatusBadRequest, "PARAM_ERROR", "amount.total must be positive")
		case in.Amount.Currency != "" && in.Amount.Currency != "CNY":
			return 0, nil, errorf(http.StatusBadRequest, "PARAM_ERROR", "amount.currency must be CNY")
		case !validNotifyURL(in.NotifyURL):
			return 0, nil, errorf(http.StatusBadRequest, "PARAM_ERROR", "notify_url must be an absolute http(s) URL without parameters")
		}
		if in.TimeExpire != "" {
			if _, err := time.Parse(time.RFC3339, in.TimeExpire); err != nil {
				return 0, nil, errorf(http.StatusBadRequest, "PARAM_ERROR", "time_expire must be RFC 3339")
			}
		}
		if old := s.orders[o.key()]; old != nil {
			switch {
			case old.state == "CLOSED":
				return 0, nil, errorf(http.StatusBadRequest, "ORDER_CLOSED", "the order is closed")
			case old.state != "NOTPAY" || old.total != o.total || old.openID != o.openID ||
				old.description != o.description || old.appID != o.appID || old.notifyURL != o.notifyURL:
				return 0, nil, errorf(http.StatusBadRequest, "OUT_TRADE_NO_USED", "out_trade_no is already used")
			}
			return http.StatusOK, map[string]string{"prepay_id": old.prepayID}, nil // same order again
		}
		o.prepayID = fmt.Sprintf("wx%s%s", s.nowCST().Format("02150405"), randString(26))
		s.orders[o.key()] = o
		return http.StatusOK, map[string]string{"prepay_id": o.prepayID}, nil
	}
}

// findOrder finds the order of the owner (mchid or sub_mchid) by out_trade_no or transaction id;
// s.mu must be held.
func (s *Server) findOrder(owner, outTradeNo, transactionID string) *order {
	if transactionID != "" {
		if o := s.byTransaction[transactionID]; o != nil && o.mchID == owner {
			return o
		}
		return nil
	}
	return s.orders[owner+"/"+outTradeNo]
}

// owner resolves the merchant whose orders a call addresses: the caller itself (direct) or the
// sub-merchant named by subMchID, which must belong to the calling service provider.
func (s *Server) owner(caller *Merchant, partner bool, spMchID, subMchID, mchID string) (string, *apiError) {
	if !partner {
		if mchID != caller.MchID {
			return "", errorf(http.StatusBadRequest, "PARAM_ERROR", "mchid is not the signing merchant")
		}
		return mchID, nil
	}
	if spMchID != caller.MchID {
		return "", errorf(http.StatusBadRequest, "PARAM_ERROR", "sp_mchid is not the signing merchant")
	}
	if sub := s.subs[subMchID]; sub == nil || sub.SpMchID != caller.MchID {
		return "", errorf(http.StatusBadRequest, "INVALID_REQUEST", "sub_mchid is not a sub-merchant of sp_mchid")
	}
	return subMchID, nil
}

func (s *Server) query(partner, byID bool) apiHandler {
	return func(r *http.Request, caller *Merchant, _ []byte) (int, any, *apiError) {
		q := r.URL.Query()
		s.mu.Lock()
		defer s.mu.Unlock()
		owner, ae := s.owner(caller, partner, q.Get("sp_mchid"), q.Get("sub_mchid"), q.Get("mchid"))
		if ae != nil {
			return 0, nil, ae
		}
		var o *order
		if byID {
			o = s.findOrder(owner, "", r.PathValue("transaction_id"))
		} else {
			o = s.findOrder(owner, r.PathValue("out_trade_no"), "")
		}
		if o == nil || o.partner != partner {
			return 0, nil, errorf(http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
		}
		return http.StatusOK, o.json(), nil
	}
}

// json is the order as WeChat Pay answers a query and as the payment notification resource.
func (o *order) json() map[string]any {
	m := map[string]any{
		"out_trade_no":     o.outTradeNo,
		"trade_state":      o.state,
		"trade_state_desc": o.stateDesc,
	}
	amount := map[string]any{"total": o.total, "currency": "CNY", "payer_currency": "CNY"}
	payer := map[string]any{}
	if o.partner {
		m["sp_appid"], m["sp_mchid"], m["sub_appid"], m["sub_mchid"] = o.spAppID, o.spMchID, o.appID, o.mchID
		payer["sub_openid"] = o.openID
	} else {
		m["appid"], m["mchid"] = o.appID, o.mchID
		payer["openid"] = o.openID
	}
	m["payer"] = payer
	if o.attach != "" {
		m["attach"] = o.attach
	}
	if o.transactionID != "" {
		m["transaction_id"] = o.transactionID
		m["trade_type"] = "JSAPI"
		m["bank_type"] = "OTHERS"
		m["success_time"] = o.successTime.Format(time.RFC3339)
		amount["payer_total"] = o.total
	}
	m["amount"] = amount
	return m
}

func (s *Server) close(partner bool) apiHandler {
	return func(r *http.Request, caller *Merchant, body []byte) (int, any, *apiError) {
		var in struct {
			MchID    string `json:"mchid"`
			SpMchID  string `json:"sp_mchid"`
			SubMchID string `json:"sub_mchid"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return 0, nil, errorf(http.StatusBadRequest, "PARAM_ERROR", "body is not JSON")
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		owner, ae := s.owner(caller, partner, in.SpMchID, in.SubMchID, in.MchID)
		if ae != nil {
			return 0, nil, ae
		}
		o := s.findOrder(owner, r.PathValue("out_trade_no"), "")
		if o == nil || o.partner != partner {
			return 0, nil, errorf(http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
		}
		switch o.state {
		case "NOTPAY", "CLOSED":
			o.state, o.stateDesc = "CLOSED", "订单已关闭"
			return http.StatusNoContent, nil, nil
		}
		return 0, nil, errorf(http.StatusBadRequest, "ORDER_PAID", "the order is paid and cannot be closed")
	}
}
