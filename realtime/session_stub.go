package realtime

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// TEMPORARY until the session package lands on main: the same fields as session.Session.

// Session is one logged-in user of one merchant's mini program.
type Session struct {
	Token, AppID, OpenID, UnionID, UserID string
	CreatedAt, ExpiresAt                  time.Time
}

var errSessionInvalid = errors.New("session: invalid token")
var errSessionExpired = fmt.Errorf("%w: session expired", errSessionInvalid)

// Validator checks a session token.
type Validator interface {
	Validate(ctx context.Context, token string) (*Session, error)
}
