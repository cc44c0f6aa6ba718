//go:build !race

package wxopen_test

// raceEnabled tells tests that scale down under the race detector (which makes them 10× slower).
const raceEnabled = false
