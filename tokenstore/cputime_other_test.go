//go:build !unix

package tokenstore_test

import "time"

// cpuTime is not measured here: the cpu-ns/key metric then reads 0.
func cpuTime() time.Duration { return 0 }
