package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestRunWalksEveryStep(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{"0. official account wx0123456789abcdef authorised", "1. card/create → card_id p", "2. cardExt signed", "3. user added the card",
		"4. card/code/decrypt → code ", "5. activateuserform/set", `wx.navigateToMiniProgram({appId: "wxeb490c6f9b154ef9"`,
		"7. activatetempinfo/get → mobile 13800000000, name 李雷", "8. membercard/activate",
		"number HF000001, active true, bonus 100", "+38 points → bonus 138", "api_ticket fetched 1 time(s)"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}
