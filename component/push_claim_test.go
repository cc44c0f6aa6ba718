package component_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/tokenstore"
)

// gatedNode is an instance whose OnOther callback reports that it started, then waits for release
// and returns the error it is given.
type gatedNode struct {
	h       *component.Handler
	entered chan string
	release chan error
	ran     atomic.Int32
}

func newGatedNode(t *testing.T, name string, creds tokenstore.Store) *gatedNode {
	g := &gatedNode{entered: make(chan string, 4), release: make(chan error, 4)}
	e := setup(t, nil, creds).withComponentToken(t)
	var err error
	g.h, err = component.NewHandler(e.c, component.HandlerConfig{
		OnOther: func(context.Context, *component.PlatformEvent) error {
			g.entered <- name
			if err := <-g.release; err != nil {
				return err
			}
			g.ran.Add(1)
			return nil
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { close(g.release) }) // a test that failed early leaves no callback waiting
	return g
}

// deliverAsync delivers d to h and sends the status on the returned channel.
func deliverAsync(d delivery, h http.Handler) <-chan int {
	c := make(chan int, 1)
	go func() { c <- d.to(h) }()
	return c
}

// The same push at two instances at once: the second waits for the first's outcome and does not run
// the callback again.
func TestSamePushAtTwoInstancesRunsOnce(t *testing.T) {
	forEachClaimStore(t, testSamePushRunsOnce)
}

func testSamePushRunsOnce(t *testing.T, creds tokenstore.Store) {
	a, b := newGatedNode(t, "A", creds), newGatedNode(t, "B", creds)
	d := newDelivery(t, event("x_event", time.Now(), "N", "1"))

	atA := deliverAsync(d, a.h)
	require.Equal(t, "A", <-a.entered)
	atB := deliverAsync(d, b.h)
	select {
	case <-b.entered:
		b.release <- nil
		t.Fatal("B ran the callback while A was handling the same push")
	case code := <-atB:
		t.Fatalf("B answered %d while A was still handling the push", code)
	case <-time.After(time.Second): // B is waiting for A's outcome
	}
	a.release <- nil
	assert.Equal(t, http.StatusOK, <-atA)
	assert.Equal(t, http.StatusOK, <-atB, "B answers success once A has handled the push")
	assert.Equal(t, int32(1), a.ran.Load())
	assert.Equal(t, int32(0), b.ran.Load())
	assert.Empty(t, b.entered)
}

// When the first instance fails, the one waiting takes the push over and handles it.
func TestSamePushAtTwoInstancesFirstFails(t *testing.T) {
	forEachClaimStore(t, testSamePushFirstFails)
}

func testSamePushFirstFails(t *testing.T, creds tokenstore.Store) {
	a, b := newGatedNode(t, "A", creds), newGatedNode(t, "B", creds)
	d := newDelivery(t, event("x_event", time.Now(), "N", "2"))

	atA := deliverAsync(d, a.h)
	require.Equal(t, "A", <-a.entered)
	atB := deliverAsync(d, b.h)
	select {
	case <-b.entered:
		t.Fatal("B ran the callback while A was handling the same push")
	case <-time.After(200 * time.Millisecond):
	}
	a.release <- errors.New("callback failed")
	assert.Equal(t, http.StatusInternalServerError, <-atA)
	require.Equal(t, "B", <-b.entered, "B takes the push over")
	b.release <- nil
	assert.Equal(t, http.StatusOK, <-atB)
	assert.Equal(t, int32(1), b.ran.Load())
	// A replay is answered without running the callback.
	assert.Equal(t, http.StatusOK, d.to(a.h))
	assert.Empty(t, a.entered)
}

// An instance that died while handling a push holds it only for a short lease: the retry that
// follows WeChat's answer window handles it.
func TestPushHeldByDeadInstanceLapses(t *testing.T) {
	forEachClaimStore(t, testPushHeldByDeadInstanceLapses)
}

func testPushHeldByDeadInstanceLapses(t *testing.T, creds tokenstore.Store) {
	b := newGatedNode(t, "B", creds)
	plain := event("x_event", time.Now(), "N", "3")
	sum := sha256.Sum256([]byte(plain))
	mkey := compAppID + ":push:" + hex.EncodeToString(sum[:16])
	ok, err := creds.CompareAndSwap(context.Background(), mkey, "", tokenstore.Token{Value: "pending:dead", ExpiresAt: time.Now().Add(300 * time.Millisecond)})
	require.NoError(t, err)
	require.True(t, ok)
	atB := deliverAsync(newDelivery(t, plain), b.h)
	select {
	case <-b.entered:
	case code := <-atB:
		t.Fatalf("B answered %d without handling the push", code)
	}
	b.release <- nil
	assert.Equal(t, http.StatusOK, <-atB)
	tok, err := creds.Get(context.Background(), mkey)
	require.NoError(t, err)
	assert.Equal(t, "1", tok.Value, "B remembers the push as handled")
}
