package tokenstore_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/wxopen-go/wxopen/tokenstore"
)

func TestManagerNowIsItsClock(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	m := mustManager(tokenstore.NewManager(tokenstore.NewMemoryStore(), nil, tokenstore.WithClock(clk.Now)))
	assert.Equal(t, time.Unix(1_700_000_000, 0), m.Now())
	clk.Advance(3 * time.Hour)
	assert.Equal(t, time.Unix(1_700_000_000, 0).Add(3*time.Hour), m.Now())
	real := mustManager(tokenstore.NewManager(tokenstore.NewMemoryStore(), nil)).Now()
	assert.WithinDuration(t, time.Now(), real, time.Minute, "time.Now without a clock")
}
