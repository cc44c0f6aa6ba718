package crypto

import (
	"crypto/sha1"
	"encoding/hex"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// referenceSortedSHA1 is the obvious implementation, for comparison.
func referenceSortedSHA1(values ...string) string {
	s := slices.Clone(values)
	slices.Sort(s)
	sum := sha1.Sum([]byte(strings.Join(s, "")))
	return hex.EncodeToString(sum[:])
}

func TestSortedSHA1(t *testing.T) {
	mustEqual(t, SortedSHA1(), "da39a3ee5e6b4b0d3255bfef95601890afd80709", "no values") // SHA-1 of ""
	mustEqual(t, SortedSHA1("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d", "one value")
	mustEqual(t, SortedSHA1("b", "a"), SortedSHA1("a", "b"), "order independence")
	// Byte order, not locale order: uppercase sorts before lowercase, "a" before "aa".
	mustEqual(t, SortedSHA1("a", "B", "aa"), referenceSortedSHA1("B", "a", "aa"), "byte order")

	values := []string{"z", "y", "x"}
	_ = SortedSHA1(values...)
	mustEqual(t, strings.Join(values, ","), "z,y,x", "caller's slice after SortedSHA1")

	rng := rand.New(rand.NewPCG(5, 6))
	for range 500 {
		n := rng.IntN(14) // covers the stack path (<= 8) and the heap path
		vals := make([]string, n)
		for i := range vals {
			b := make([]byte, rng.IntN(400))
			for j := range b {
				b[j] = byte(rng.IntN(256))
			}
			vals[i] = string(b)
		}
		mustEqual(t, SortedSHA1(vals...), referenceSortedSHA1(vals...), "SortedSHA1")
	}
}

func TestSignatureMatchesSortedSHA1(t *testing.T) {
	c := newA(t)
	long := strings.Repeat("L", 3*concatStack) // beyond the stack buffer
	for _, enc := range []string{"", a1Encrypt, a2Encrypt, long} {
		want := SortedSHA1(aToken, aTimestamp, aNonce, enc)
		mustEqual(t, c.Signature(aTimestamp, aNonce, enc), want, "Signature")
		mustEqual(t, c.VerifySignature(want, aTimestamp, aNonce, enc), true, "VerifySignature")
		mustEqual(t, c.verifyEncrypt(want, aTimestamp, aNonce, []byte(enc)), true, "verifyEncrypt")
	}
	// The byte-slice value sorts the same as its string form in every position.
	for _, enc := range []string{"0", "pamtest", "pamtesu", "1409304348", "xxxxxx", "zzz", "A"} {
		mustEqual(t, c.verifyEncrypt(SortedSHA1(aToken, aTimestamp, aNonce, enc), aTimestamp, aNonce, []byte(enc)), true, enc)
	}
}
