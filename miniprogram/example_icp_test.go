package miniprogram_test

import (
	"fmt"

	"github.com/wxopen-go/wxopen/miniprogram"
)

// Each filing state says what the merchant or the platform must do next; Readiness puts it in the
// Fix of the icp_filing gate.
func ExampleICPStatus_Next() {
	for _, s := range []miniprogram.ICPStatus{miniprogram.ICPNotFiledNoCategory, miniprogram.ICPRegulatorReview, miniprogram.ICPFiled} {
		fmt.Printf("%s: %s\n", s, s.Next())
	}
	// Output:
	// not filed; category missing: add a service category and wait for its approval, then apply
	// regulator review: the principal must answer the regulator's (MIIT) SMS within 24 hours; then wait for the regulator
	// filed: nothing: the mini program may be released
}
