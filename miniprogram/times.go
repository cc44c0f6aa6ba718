package miniprogram

import "time"

// unixSeconds is WeChat's unix seconds for t; the zero time is 0 (none), as unixTime reads it.
func unixSeconds(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
