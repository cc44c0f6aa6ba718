package wxtest

import (
	"context"
	"net/http"
	"strings"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Endpoints of the user's tests: Handle serves a path the emulator does not emulate.

// userRoutes holds the handlers registered with Handle. It is a group state (see groupState), so it
// is guarded by s.mu like every other.
type userRoutes struct{ h map[string]http.Handler }

func (s *Server) userRoutes() *userRoutes { // call with s.mu held
	return groupState(s, func() *userRoutes { return &userRoutes{h: map[string]http.Handler{}} })
}

// Handle serves path with h, for an endpoint the emulator does not emulate, so that a test can call
// it through authorizer.Client.Do (or any client) against the emulator. Before h runs, the emulator
// does what WeChat does for every account API: it counts the call (Calls), applies the faults
// injected for path (InjectFault), checks the access_token query parameter as an authorizer access
// token (41001 missing, 40014 malformed, 40001 unknown or revoked, 42001 expired) and applies
// SetDailyQuota; AuthorizerAppID(r) then names the token's account. h answers as WeChat would,
// usually JSON with an errcode; it runs without the emulator's lock, so it may call the Server's
// methods. A second Handle of the same path replaces the handler. Handle panics for a path the
// emulator already emulates, or one not starting with "/".
func (s *Server) Handle(path string, h http.Handler) {
	if !strings.HasPrefix(path, "/") || h == nil {
		panic("wxtest: Handle: path must start with / and the handler must not be nil")
	}
	if s.routes[path] != nil {
		panic("wxtest: Handle: " + path + " is emulated already")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userRoutes().h[path] = h
}

// userHandler returns the handler registered for path, or nil.
func (s *Server) userHandler(path string) http.Handler {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userRoutes().h[path]
}

type appIDKey struct{}

// AuthorizerAppID returns the account whose access token a request to a Handle handler carried.
func AuthorizerAppID(r *http.Request) string {
	id, _ := r.Context().Value(appIDKey{}).(string)
	return id
}

// serveUser checks the call like an account API and hands it to h.
func (s *Server) serveUser(w http.ResponseWriter, r *http.Request, h http.Handler) {
	c := &call{s: s, r: r, now: s.Now()}
	s.mu.Lock()
	err := s.checkToken(authAuthorizer, c)
	if err == nil && !s.useQuota(r.URL.Path, c.now) {
		err = apiErr(wxerr.CodeDailyQuota, "")
	}
	s.mu.Unlock()
	if err != nil {
		writeErr(w, err)
		return
	}
	h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), appIDKey{}, c.authorizerAppID)))
}
