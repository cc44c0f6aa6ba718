package paytest

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Notification is one notification the emulator sent (or tried to send).
type Notification struct {
	// ID is the notification id; redeliveries keep it.
	ID string
	// EventType is TRANSACTION.SUCCESS or REFUND.SUCCESS.
	EventType string
	// URL is where it is delivered.
	URL string
	// Body is the exact JSON posted; its resource is encrypted.
	Body []byte
	// Header holds the headers of the last attempt (Wechatpay-Signature and the rest).
	Header http.Header
	// Attempts counts deliveries; Status is the HTTP status of the last one (0 when it failed
	// before an answer).
	Attempts int
	Status   int
}

// DeliveryError is a notification the receiver did not acknowledge with 200 or 204.
type DeliveryError struct {
	ID         string // the notification id (for Redeliver)
	URL        string // the notify URL
	StatusCode int    // 0 when no answer came
	Body       string
	Err        error // the transport error, when no answer came
}

// Error describes the failed delivery.
func (e *DeliveryError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("paytest: notification %s to %s: %v", e.ID, e.URL, e.Err)
	}
	return fmt.Sprintf("paytest: notification %s to %s: HTTP %d: %s", e.ID, e.URL, e.StatusCode, e.Body)
}

// Unwrap returns the transport error, if any.
func (e *DeliveryError) Unwrap() error { return e.Err }

// Pay marks the unpaid order outTradeNo paid (SUCCESS, with a transaction id and success time) and
// POSTs a TRANSACTION.SUCCESS notification to its notify URL. The order stays paid when the
// notification is not acknowledged; the error is then a *DeliveryError and Redeliver repeats it.
// outTradeNo must be unique among the emulator's merchants.
func (s *Server) Pay(ctx context.Context, outTradeNo string) error {
	s.mu.Lock()
	var o *order
	for _, c := range s.orders {
		if c.outTradeNo == outTradeNo {
			if o != nil {
				s.mu.Unlock()
				return fmt.Errorf("paytest: out_trade_no %s is used by several merchants", outTradeNo)
			}
			o = c
		}
	}
	if o == nil {
		s.mu.Unlock()
		return fmt.Errorf("paytest: no order %s", outTradeNo)
	}
	if o.state != "NOTPAY" {
		s.mu.Unlock()
		return fmt.Errorf("paytest: order %s is %s, not NOTPAY", outTradeNo, o.state)
	}
	if o.timeExpire != "" {
		if exp, err := time.Parse(time.RFC3339, o.timeExpire); err == nil && !s.now().Before(exp) {
			o.state, o.stateDesc = "CLOSED", "订单已关闭"
			s.mu.Unlock()
			return fmt.Errorf("paytest: order %s expired at %s", outTradeNo, o.timeExpire)
		}
	}
	o.transactionID = fmt.Sprintf("4200%024d", s.nextSeq())
	o.state, o.stateDesc, o.successTime = "SUCCESS", "支付成功", s.nowCST()
	s.byTransaction[o.transactionID] = o
	n, err := s.newNotification("TRANSACTION.SUCCESS", "支付成功", "transaction", o.notifyURL, o.receiver(), o.json())
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.deliver(ctx, n)
}

// CompleteRefund completes the PROCESSING refund outRefundNo (SUCCESS, with a success time; the
// order's state becomes REFUND) and, when the refund named a notify URL, POSTs a REFUND.SUCCESS
// notification to it. outRefundNo must be unique among the emulator's merchants.
func (s *Server) CompleteRefund(ctx context.Context, outRefundNo string) error {
	s.mu.Lock()
	var r *refund
	for _, c := range s.refunds {
		if c.outRefundNo == outRefundNo {
			if r != nil {
				s.mu.Unlock()
				return fmt.Errorf("paytest: out_refund_no %s is used by several merchants", outRefundNo)
			}
			r = c
		}
	}
	if r == nil {
		s.mu.Unlock()
		return fmt.Errorf("paytest: no refund %s", outRefundNo)
	}
	if r.status != "PROCESSING" {
		s.mu.Unlock()
		return fmt.Errorf("paytest: refund %s is %s, not PROCESSING", outRefundNo, r.status)
	}
	r.status, r.successTime = "SUCCESS", s.nowCST()
	r.o.state, r.o.stateDesc = "REFUND", "转入退款"
	if r.notifyURL == "" {
		s.mu.Unlock()
		return nil
	}
	n, err := s.newNotification("REFUND.SUCCESS", "退款成功", "refund", r.notifyURL, r.o.receiver(), r.notifyJSON())
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.deliver(ctx, n)
}

// Redeliver sends the notification id again, with a fresh signature, as WeChat Pay does until a
// notification is acknowledged.
func (s *Server) Redeliver(ctx context.Context, id string) error {
	s.mu.Lock()
	var n *Notification
	for _, c := range s.notifications {
		if c.ID == id {
			n = c
		}
	}
	s.mu.Unlock()
	if n == nil {
		return fmt.Errorf("paytest: no notification %s", id)
	}
	return s.deliver(ctx, n)
}

// Notifications returns copies of the notifications sent so far, in order.
func (s *Server) Notifications() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Notification, len(s.notifications))
	for i, n := range s.notifications {
		c := *n
		c.Body = append([]byte(nil), n.Body...)
		c.Header = n.Header.Clone()
		out[i] = c
	}
	return out
}

// newNotification builds a notification with resource encrypted under the APIv3 key of the account
// receiver; s.mu must be held.
func (s *Server) newNotification(eventType, summary, originalType, url, receiver string, resource any) (*Notification, error) {
	m := s.merchants[receiver]
	if m == nil {
		return nil, fmt.Errorf("paytest: merchant %s is not registered", receiver)
	}
	plain, err := json.Marshal(resource)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher([]byte(m.APIv3Key))
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	nonce := randString(gcm.NonceSize())
	sealed := gcm.Seal(nil, []byte(nonce), plain, []byte(originalType))
	id := fmt.Sprintf("%s-%s-%s-%s-%s", randString(8), randString(4), randString(4), randString(4), randString(12))
	body, err := json.Marshal(map[string]any{
		"id":            id,
		"create_time":   s.nowCST().Format(time.RFC3339),
		"resource_type": "encrypt-resource",
		"event_type":    eventType,
		"summary":       summary,
		"resource": map[string]string{
			"original_type":   originalType,
			"algorithm":       "AEAD_AES_256_GCM",
			"ciphertext":      base64.StdEncoding.EncodeToString(sealed),
			"associated_data": originalType,
			"nonce":           nonce,
		},
	})
	if err != nil {
		return nil, err
	}
	n := &Notification{ID: id, EventType: eventType, URL: url, Body: body, Header: http.Header{}}
	s.notifications = append(s.notifications, n)
	return n, nil
}

// deliver POSTs n once, signed afresh, and records the outcome.
func (s *Server) deliver(ctx context.Context, n *Notification) error {
	if n.URL == "" {
		return &DeliveryError{ID: n.ID, Err: errors.New("no notify URL")}
	}
	h := http.Header{}
	if err := s.signedHeaders(h, n.Body); err != nil {
		return err
	}
	h.Set("Content-Type", "application/json")
	h.Set("Request-ID", "paytest-"+randString(16))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URL, bytes.NewReader(n.Body))
	if err != nil {
		return &DeliveryError{ID: n.ID, URL: n.URL, Err: err}
	}
	req.Header = h
	resp, err := s.notifyClient.Do(req)
	status, answer := 0, ""
	if err == nil {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
		status, answer = resp.StatusCode, string(b)
	}
	s.mu.Lock()
	n.Attempts++
	n.Status = status
	n.Header = h
	s.mu.Unlock()
	switch {
	case err != nil:
		return &DeliveryError{ID: n.ID, URL: n.URL, Err: err}
	case status != http.StatusOK && status != http.StatusNoContent:
		return &DeliveryError{ID: n.ID, URL: n.URL, StatusCode: status, Body: answer}
	}
	return nil
}
