package wxtest

import "time"

// quota is the daily call limit of one path.
type quota struct {
	limit int
	used  int
	day   string // the China date the count belongs to
}

// SetDailyQuota limits path to limit calls per day (China time, emulator clock): beyond that the
// call is refused with 45009 until the next day or, for the platform's own APIs (those not called
// with an authorizer access token), until the platform calls clear_quota. Calls refused for their
// token do not count. limit <= 0 removes the limit. Without SetDailyQuota there is no limit.
func (s *Server) SetDailyQuota(path string, limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if limit <= 0 {
		delete(s.quotas, path)
		return
	}
	s.quotas[path] = &quota{limit: limit}
}

// useQuota counts a call of path against its quota: false when the quota is used up. Call with
// s.mu held.
func (s *Server) useQuota(path string, now time.Time) bool {
	q := s.quotas[path]
	if q == nil {
		return true
	}
	// WeChat resets quotas at midnight in China (UTC+8).
	if day := now.UTC().Add(8 * time.Hour).Format(time.DateOnly); day != q.day {
		q.day, q.used = day, 0
	}
	if q.used >= q.limit {
		return false
	}
	q.used++
	return true
}

// clearQuotas resets the counts of the platform's own APIs (clear_quota): the paths not called
// with an authorizer access token. Call with s.mu held.
func (s *Server) clearQuotas() {
	for path, q := range s.quotas {
		authorizerAPI := false
		for _, rt := range s.routes[path] {
			authorizerAPI = authorizerAPI || rt.auth == authAuthorizer
		}
		if !authorizerAPI {
			q.used = 0
		}
	}
}
