package miniprogram

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// ICP look-up tables (digest 13.1). They are the regulator's, the same for every mini program, and
// change rarely: ICPLookups caches them for a whole platform.

// ICPSubjectType is a kind of filing subject (unit type).
type ICPSubjectType struct {
	Type   int    `json:"type"`
	Name   string `json:"name"`
	Remark string `json:"remark"`
}

// ICPCertificateType is a certificate type, for subjects of SubjectType.
type ICPCertificateType struct {
	Type        int    `json:"type"`
	SubjectType int    `json:"subject_type"`
	Name        string `json:"name"`
	Remark      string `json:"remark"`
}

// ICPDistrict is a province (Type 1), city (2) or district (3) with its 6-digit code.
type ICPDistrict struct {
	Type    int           `json:"type"`
	Code    ICPAreaCode   `json:"code"`
	Name    string        `json:"name"`
	SubList []ICPDistrict `json:"sub_list"`
}

// ICPAreaCode is a 6-digit area code; WeChat sends it as a number or as a string (sources differ,
// digest 13.1), both are decoded.
type ICPAreaCode string

// UnmarshalJSON accepts a number or a string.
func (c *ICPAreaCode) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = ICPAreaCode(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*c = ICPAreaCode(n.String())
	return nil
}

// ICPNrlxType is a pre-approval (前置审批) type.
type ICPNrlxType struct {
	Type int    `json:"type"`
	Name string `json:"name"`
}

// ICPServiceContentType is a service content type; only level-2 ones (ParentType != 0) may be
// filed.
type ICPServiceContentType struct {
	Type       int    `json:"type"`
	ParentType int    `json:"parent_type"`
	Name       string `json:"name"`
	Remark     string `json:"remark"`
}

// DefaultICPLookupTTL is how long ICPLookups keeps a table.
const DefaultICPLookupTTL = 24 * time.Hour

// ICPLookups caches the ICP look-up tables for a platform: each table is read from WeChat once per
// TTL (concurrent readers share one request) whichever mini program's token reads it. It holds five
// tables whatever the number of merchants. It is safe for concurrent use.
type ICPLookups struct {
	ttl    time.Duration
	now    func() time.Time
	flight singleflight.Group
	mu     sync.Mutex
	tables map[string]icpTable // by path
}

type icpTable struct {
	items   json.RawMessage
	expires time.Time
}

// NewICPLookups returns a cache keeping each table for ttl (DefaultICPLookupTTL when ≤ 0), on the
// clock now (time.Now when nil).
func NewICPLookups(ttl time.Duration, now func() time.Time) *ICPLookups {
	if ttl <= 0 {
		ttl = DefaultICPLookupTTL
	}
	if now == nil {
		now = time.Now
	}
	return &ICPLookups{ttl: ttl, now: now, tables: map[string]icpTable{}}
}

// Forget drops every cached table, so that the next read asks WeChat.
func (l *ICPLookups) Forget() {
	l.mu.Lock()
	clear(l.tables)
	l.mu.Unlock()
}

// items reads the items of the table at path, from the cache or from WeChat.
func (s ICPService) items(ctx context.Context, path string, out any) error {
	fetch := func() (json.RawMessage, error) {
		var ans struct {
			Items json.RawMessage `json:"items"`
		}
		if err := s.c.call(ctx, get(path), &ans); err != nil {
			return nil, err
		}
		return ans.Items, nil
	}
	l := s.c.icpLookups()
	var raw json.RawMessage
	if l == nil {
		r, err := fetch()
		if err != nil {
			return err
		}
		raw = r
	} else {
		l.mu.Lock()
		t, ok := l.tables[path]
		l.mu.Unlock()
		if ok && l.now().Before(t.expires) {
			raw = t.items
		} else {
			v, err, _ := l.flight.Do(path, func() (any, error) {
				// A flight that ended between our miss and this call has filled the cache: use it
				// rather than asking WeChat again.
				l.mu.Lock()
				t, ok := l.tables[path]
				l.mu.Unlock()
				if ok && l.now().Before(t.expires) {
					return t.items, nil
				}
				r, err := fetch()
				if err != nil {
					return nil, err
				}
				l.mu.Lock()
				l.tables[path] = icpTable{items: r, expires: l.now().Add(l.ttl)}
				l.mu.Unlock()
				return r, nil
			})
			if err != nil {
				return err
			}
			raw = v.(json.RawMessage)
		}
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &decodeError{op: "GET " + path, err: err}
	}
	return nil
}

func (c *Client) icpLookups() *ICPLookups {
	if c == nil {
		return nil
	}
	return c.icp
}

type decodeError struct {
	op  string
	err error
}

func (e *decodeError) Error() string {
	return "wxopen: " + e.op + ": decode response: " + e.err.Error()
}
func (e *decodeError) Unwrap() error { return e.err }

// SubjectTypes returns the subject (unit) types.
//
// WeChat: GET /wxa/icp/query_icp_subject_types
func (s ICPService) SubjectTypes(ctx context.Context) ([]ICPSubjectType, error) {
	var out []ICPSubjectType
	return out, s.items(ctx, pathICPSubjectTypes, &out)
}

// CertificateTypes returns the certificate types, each with the subject type it belongs to.
//
// WeChat: GET /wxa/icp/query_icp_certificate_types
func (s ICPService) CertificateTypes(ctx context.Context) ([]ICPCertificateType, error) {
	var out []ICPCertificateType
	return out, s.items(ctx, pathICPCertTypes, &out)
}

// Districts returns the provinces with their cities and districts.
//
// WeChat: GET /wxa/icp/query_icp_district_code
func (s ICPService) Districts(ctx context.Context) ([]ICPDistrict, error) {
	var out []ICPDistrict
	return out, s.items(ctx, pathICPDistricts, &out)
}

// NrlxTypes returns the pre-approval (前置审批) types, "以上都不涉及" (none applies) among them.
//
// WeChat: GET /wxa/icp/query_icp_nrlx_types
func (s ICPService) NrlxTypes(ctx context.Context) ([]ICPNrlxType, error) {
	var out []ICPNrlxType
	return out, s.items(ctx, pathICPNrlxTypes, &out)
}

// ServiceContentTypes returns the service content types (level 1 and level 2).
//
// WeChat: GET /wxa/icp/query_icp_service_content_types
func (s ICPService) ServiceContentTypes(ctx context.Context) ([]ICPServiceContentType, error) {
	var out []ICPServiceContentType
	return out, s.items(ctx, pathICPServiceContent, &out)
}

func itoaICP(n int) string { return strconv.Itoa(n) }
