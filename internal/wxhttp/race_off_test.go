//go:build !race

package wxhttp

const raceEnabled = false
