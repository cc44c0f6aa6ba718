package crypto

import (
	"crypto/sha1"
	"encoding/hex"
	"slices"
)

// SortedSHA1 sorts copies of values in ascending byte order, concatenates them, and returns the
// lowercase hex SHA-1 of the result. This is WeChat's signature for URL verification
// (token, timestamp, nonce), msg_signature (token, timestamp, nonce, Encrypt) and the card
// cardExt signature (api_ticket, timestamp, card_id, code, openid, nonce_str). An empty value
// sorts first and adds nothing. values is not modified.
func SortedSHA1(values ...string) string {
	var stack [8]sigValue
	var vals []sigValue
	if len(values) <= len(stack) {
		vals = stack[:len(values)]
	} else {
		vals = make([]sigValue, len(values))
	}
	for i, v := range values {
		vals[i] = sigValue{s: v}
	}
	var out [40]byte
	sortedSHA1Hex(&out, vals)
	return string(out[:])
}

// sigValue is one signed value: a string, or bytes sliced straight from a request body (the
// Encrypt element), so that verifying a push neither converts nor copies it.
type sigValue struct {
	s       string
	b       []byte
	isBytes bool
}

// less reports whether v sorts before w in byte order. The string(b) conversions in comparisons
// do not allocate.
func (v *sigValue) less(w *sigValue) bool {
	switch {
	case !v.isBytes && !w.isBytes:
		return v.s < w.s
	case v.isBytes && !w.isBytes:
		return string(v.b) < w.s
	case !v.isBytes && w.isBytes:
		return v.s < string(w.b)
	default:
		return string(v.b) < string(w.b)
	}
}

func (v *sigValue) len() int {
	if v.isBytes {
		return len(v.b)
	}
	return len(v.s)
}

// concatStack is how many bytes of concatenated values are hashed from a stack buffer; longer
// inputs (an Encrypt of a message over about 700 bytes) take one heap allocation.
const concatStack = 1024

// sortedSHA1Hex sorts vals in place, hashes their concatenation and writes the lowercase hex
// digest to dst.
func sortedSHA1Hex(dst *[40]byte, vals []sigValue) {
	if len(vals) <= 8 {
		// Insertion sort: no allocation, and fastest for the 3 to 6 values WeChat signs.
		for i := 1; i < len(vals); i++ {
			for j := i; j > 0 && vals[j].less(&vals[j-1]); j-- {
				vals[j], vals[j-1] = vals[j-1], vals[j]
			}
		}
	} else {
		slices.SortFunc(vals, func(a, b sigValue) int {
			switch {
			case a.less(&b):
				return -1
			case b.less(&a):
				return 1
			}
			return 0
		})
	}
	total := 0
	for i := range vals {
		total += vals[i].len()
	}
	var stack [concatStack]byte
	buf := stack[:0]
	if total > len(stack) {
		buf = make([]byte, 0, total)
	}
	for i := range vals {
		if vals[i].isBytes {
			buf = append(buf, vals[i].b...)
		} else {
			buf = append(buf, vals[i].s...)
		}
	}
	sum := sha1.Sum(buf)
	hex.Encode(dst[:], sum[:])
}
