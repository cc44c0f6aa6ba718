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
	for _, want := range []string{"0. official account wx0123456789abcdef authorised", "1. media/uploadimg → logo_url http://mmbiz.qpic.cn/",
		"2. card/create → card_id p", "3. cardExt signed", "4. user added the card",
		"5. card/code/decrypt → code ", "6. activateuserform/set", `wx.navigateToMiniProgram({appId: "wxeb490c6f9b154ef9"`,
		"8. activatetempinfo/get → mobile 13800000000, name 李雷", "9. membercard/activate",
		"number HF000001, active true, bonus 100", "+38 points → bonus 138",
		"12. code/get → NORMAL, holder oUSER-example, can consume true", "13. code/consume → consumed",
		"14. the same code again → already consumed, no consume sent",
		"15. code/consume, answer lost → consumed (settled by code/get: true); consumes sent: 1",
		"  - user_get_card: oUSER-example took code", `(channel "mini-program")`,
		"  - update_member_card: code ", "bonus +38, balance +0",
		"  - user_get_card: oUSER-second took code", `(channel "door-qrcode")`,
		"api_ticket fetched 1 time(s)"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "  - user_consume_card: code "); n != 2 {
		t.Errorf("%d user_consume_card pushes, want 2 (one per consumed code, none for the refused second consume):\n%s", n, got)
	}
}
