package tokenstore_test

import (
	"context"
	"fmt"
	"log"
	"sync/atomic"
	"time"

	"github.com/wxopen-go/wxopen/tokenstore"
)

// A Manager fetches a token once and serves it from its in-process copy until it is due for
// refresh. Here the fetcher counts its calls instead of asking WeChat.
func ExampleNewManager() {
	var fetches atomic.Int32
	fetch := func(ctx context.Context, key string) (tokenstore.Token, error) {
		n := fetches.Add(1)
		return tokenstore.Token{
			Value:     fmt.Sprintf("%s#%d", key, n),
			ExpiresAt: time.Now().Add(2 * time.Hour), // WeChat's tokens last 7200 s
		}, nil
	}
	m, err := tokenstore.NewManager(tokenstore.NewMemoryStore(), fetch, tokenstore.WithMargin(5*time.Minute))
	if err != nil {
		log.Fatal(err) // an option given an invalid value
	}
	ctx := context.Background()

	first, err := m.Token(ctx, "component_access_token")
	if err != nil {
		log.Fatal(err)
	}
	second, err := m.Token(ctx, "component_access_token")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same token:", first.Value == second.Value)

	// A Source is the handle of one key: hold it where the key is always the same.
	src := m.Source("component_access_token")
	third, err := src.Token(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("source:", src.Key(), third.Value == first.Value)
	fmt.Println("fetches:", fetches.Load())
	// Output:
	// same token: true
	// source: component_access_token true
	// fetches: 1
}

// When WeChat refuses a token (40001, 42001), the caller invalidates the value it sent. Only that
// value is dropped: a token another caller has already refreshed is left alone.
func ExampleManager_Invalidate() {
	var fetches atomic.Int32
	fetch := func(ctx context.Context, key string) (tokenstore.Token, error) {
		return tokenstore.Token{Value: fmt.Sprintf("token-%d", fetches.Add(1)), ExpiresAt: time.Now().Add(2 * time.Hour)}, nil
	}
	m, err := tokenstore.NewManager(tokenstore.NewMemoryStore(), fetch)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	refused, err := m.Token(ctx, "wx_card_ticket")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sent:", refused.Value)

	// WeChat answered 40001 for token-1: drop it; the next call fetches a new one.
	if err := m.Invalidate(ctx, "wx_card_ticket", refused.Value); err != nil {
		log.Fatal(err)
	}
	fresh, err := m.Token(ctx, "wx_card_ticket")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("after invalidate:", fresh.Value)

	// A late caller that also saw token-1 refused does no harm: token-2 stays.
	if err := m.Invalidate(ctx, "wx_card_ticket", refused.Value); err != nil {
		log.Fatal(err)
	}
	again, err := m.Token(ctx, "wx_card_ticket")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("after stale invalidate:", again.Value)
	// Output:
	// sent: token-1
	// after invalidate: token-2
	// after stale invalidate: token-2
}
