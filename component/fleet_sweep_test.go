package component_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

// faultAt fails the at-th write (CompareAndSwap or CompareAndDelete) of the credential store, access
// tokens aside: lost, the write applies and reports an error; refused, it does not apply. With reads,
// it fails the at-th read instead.
type faultAt struct {
	tokenstore.Store
	mu     sync.Mutex
	n      int
	at     int
	lost   bool
	reads  bool
	paused bool // the test's own checks
	writes []string
}

// check runs the test's own reads without faults.
func (s *faultAt) check(f func()) {
	s.mu.Lock()
	s.paused = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.paused = false
		s.mu.Unlock()
	}()
	f()
}

func (s *faultAt) Get(ctx context.Context, key string) (tokenstore.Token, error) {
	if s.reads && s.hit(key) {
		return tokenstore.Token{}, errStore
	}
	return s.Store.Get(ctx, key)
}

func (s *faultAt) hit(key string) bool {
	if strings.HasSuffix(key, ":access_token") {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paused {
		return false
	}
	s.n++
	s.writes = append(s.writes, key[strings.LastIndex(key, ":")+1:])
	return s.n == s.at
}

func (s *faultAt) CompareAndSwap(ctx context.Context, key, old string, tok tokenstore.Token) (bool, error) {
	if !s.reads && s.hit(key) {
		if !s.lost {
			return false, errStore
		}
		_, _ = s.Store.CompareAndSwap(ctx, key, old, tok)
		return false, errLostReply
	}
	return s.Store.CompareAndSwap(ctx, key, old, tok)
}

func (s *faultAt) CompareAndDelete(ctx context.Context, key, value string) (bool, error) {
	if !s.reads && s.hit(key) {
		if !s.lost {
			return false, errStore
		}
		_, _ = s.Store.CompareAndDelete(ctx, key, value)
		return false, errLostReply
	}
	return s.Store.CompareAndDelete(ctx, key, value)
}

// Two instances share a credential store in which one operation fails, in turn each of the first 60:
// a write whose answer is lost after it applied, a write refused, or a read failing. WeChat retries the
// pushes (alternating instances) and the instances refresh, WeChat rotating the refresh token each
// time. An authorisation, a refresh, a newer authorisation, refreshes, a revocation, refreshes: the
// stored token must be live and descend from the newest authorisation, the record must be the newest
// event's, and after the revocation nothing is stored and no refresh succeeds.
func TestSweepLostAndRefusedWrites(t *testing.T) {
	for _, mode := range []string{"lost", "refused", "read"} {
		for at := 0; at <= 60; at++ {
			t.Run(fmt.Sprintf("%s/%d", mode, at), func(t *testing.T) {
				creds := &faultAt{Store: tokenstore.NewMemoryStore(), at: at, lost: mode == "lost", reads: mode == "read"}
				wx := newRotatingWeChat("")
				nodes := []*node{newNode(t, creds, wx), newNode(t, creds, wx)}
				ctx := context.Background()
				deliver := func(d delivery, first int) {
					for i := range 6 {
						if d.to(nodes[(first+i)%2].h) == http.StatusOK {
							return
						}
					}
					t.Fatalf("push never succeeded; writes %v", creds.writes)
				}
				refresh := func(i int) error {
					var err error
					for range 4 {
						src := nodes[i].c.AuthorizerTokenSource("wxA")
						var tok tokenstore.Token
						if tok, err = src.Token(ctx); err == nil {
							_ = src.Invalidate(ctx, tok.Value)
							return nil
						}
						if errors.Is(err, wxerr.ErrNotAuthorized) {
							return err
						}
					}
					return err
				}
				t0 := time.Now().Add(-time.Hour)
				deliver(authorizedPush(t, t0, wx.issueCode("wxA")), 0)
				_ = refresh(1)
				code := wx.issueCode("wxA")
				lastRT := fmt.Sprintf("SECRET-RT-%d", wx.n+1)
				deliver(authorizedPush(t, t0.Add(time.Minute), code), 1)
				require.NoError(t, refresh(0))
				require.NoError(t, refresh(1))
				require.NoError(t, refresh(0))
				creds.check(func() {
					rt := storedRefreshToken(t, creds)
					wx.mu.Lock()
					live, gen, lastGen := wx.live[rt], wx.gen[rt], wx.gen[lastRT]
					wx.mu.Unlock()
					assert.True(t, live, "stored %s live; sent %v; writes %v", rt, wx.sentTokens(), creds.writes)
					assert.Equal(t, lastGen, gen)
					rec, err := nodes[0].c.StoredAuthorization(ctx, "wxA")
					require.NoError(t, err, "writes %v", creds.writes)
					assert.True(t, rec.EventTime.Equal(t0.Add(time.Minute).Truncate(time.Second)), "record %v", rec.EventTime)
				})
				deliver(unauthorizedPush(t, t0.Add(2*time.Minute)), 0)
				for i := range 2 {
					assert.ErrorIs(t, refresh(i), wxerr.ErrNotAuthorized)
				}
				creds.check(func() {
					assert.Equal(t, "", storedRefreshToken(t, creds), "writes %v", creds.writes)
					_, err := nodes[1].c.StoredAuthorization(ctx, "wxA")
					assert.ErrorIs(t, err, wxerr.ErrNotAuthorized)
				})
			})
		}
	}
}
