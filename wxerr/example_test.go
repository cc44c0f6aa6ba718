package wxerr_test

import (
	"errors"
	"fmt"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Every WeChat refusal is a *wxerr.APIError, usually wrapped by the caller's own context. Test it
// with errors.As for the details and errors.Is with a sentinel for one code; the sentinel matches
// whatever WeChat's errmsg and the operation were.
func Example() {
	// What a call returns when WeChat refuses its access token (built here without a request).
	err := fmt.Errorf("load categories of wx5555555555555555: %w", &wxerr.APIError{
		Code: wxerr.CodeInvalidCredential,
		Msg:  "invalid credential, access_token is invalid or not latest rid: 65a0c3f1-1a2b3c4d-5e6f7a8b",
		Op:   "GET /wxa/get_category",
	})

	var apiErr *wxerr.APIError
	if errors.As(err, &apiErr) {
		fmt.Println("errcode:", apiErr.Code, "op:", apiErr.Op)
	}
	fmt.Println("is 40001:", errors.Is(err, wxerr.ErrInvalidCredential))
	fmt.Println("is 42001:", errors.Is(err, wxerr.ErrAccessTokenExpired))
	fmt.Println("token refused:", wxerr.IsTokenInvalid(err))
	fmt.Println("hint:", wxerr.Hint(wxerr.CodeOf(err)))

	// Conditions the SDK detects itself are plain sentinels.
	err = fmt.Errorf("shop wx5555555555555555: %w", wxerr.ErrNotAuthorized)
	fmt.Println("not authorised:", errors.Is(err, wxerr.ErrNotAuthorized))
	// Output:
	// errcode: 40001 op: GET /wxa/get_category
	// is 40001: true
	// is 42001: false
	// token refused: true
	// hint: the access token is invalid or not the latest, or the AppSecret is wrong
	// not authorised: true
}

// Input WeChat would refuse is rejected before any request with a *wxerr.ValidationError, which
// names the field and the rule.
func ExampleIsValidation() {
	err := fmt.Errorf("rename: %w", wxerr.Invalid("nick_name", "4 to 30 wide, a Chinese character counting 2"))

	fmt.Println(wxerr.IsValidation(err))
	var v *wxerr.ValidationError
	if errors.As(err, &v) {
		fmt.Println(v.Field)
	}
	fmt.Println(err)
	fmt.Println(wxerr.IsValidation(wxerr.ErrSystemBusy))
	// Output:
	// true
	// nick_name
	// rename: wxopen: invalid nick_name: 4 to 30 wide, a Chinese character counting 2
	// false
}
