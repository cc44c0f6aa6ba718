package realtime

// The session errors the hub recognises, for the fake validator of the tests.
var (
	ErrTestInvalid = errSessionInvalid
	ErrTestExpired = errSessionExpired
)
