//go:build race

package wxhttp

// raceEnabled: the race detector makes sync.Pool drop items at random, so allocation counts of code
// that uses a pool (encoding/json's scanner) mean nothing under -race.
const raceEnabled = true
