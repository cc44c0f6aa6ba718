package realtime

import (
	"sync"

	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// lockedAdapterBuilder builds the in-memory socket.io adapter with its room changes serialised.
//
// The stock adapter keeps a set of socket ids per room and deletes a room when its set empties: a leave
// that empties a room can delete it just after another connection's join added itself to the same set,
// and that join is lost (the connection was told "ok" and receives nothing). Topics are joined and left
// by many connections at once, so every change of membership here takes one lock; broadcasts only read
// and take none.
type lockedAdapterBuilder struct{}

// New returns the adapter of nsp.
func (lockedAdapterBuilder) New(nsp socket.Namespace) socket.Adapter {
	a := &lockedAdapter{Adapter: socket.MakeAdapter()}
	a.Prototype(a)
	a.Construct(nsp)
	return a
}

type lockedAdapter struct {
	socket.Adapter
	mu sync.Mutex
}

// AddAll adds the connection id to rooms under the lock.
func (a *lockedAdapter) AddAll(id socket.SocketId, rooms *types.Set[socket.Room]) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.Adapter.AddAll(id, rooms)
}

// Del removes the connection id from room under the lock.
func (a *lockedAdapter) Del(id socket.SocketId, room socket.Room) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.Adapter.Del(id, room)
}

// DelAll removes the connection id from all its rooms under the lock.
func (a *lockedAdapter) DelAll(id socket.SocketId) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.Adapter.DelAll(id)
}
