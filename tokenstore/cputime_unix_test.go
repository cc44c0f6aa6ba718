//go:build unix

package tokenstore_test

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time this process has used (user and system, every thread, the GC's included):
// the cost of a benchmark on a machine that other processes share, where wall time is not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
