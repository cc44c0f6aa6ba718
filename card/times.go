package card

import "time"

// unixSeconds is WeChat's unix seconds for t; the zero time is 0 (left out), as unixOrZero reads it.
func unixSeconds(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
