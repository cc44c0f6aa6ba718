package rollout_test

import (
	"context"
	"database/sql"
	"log"
	"net/http"
	"time"

	"github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/rollout"
	"github.com/wxopen-go/wxopen/rollout/sqlstore"
)

// A platform takes version 1.3.0 to every authorised mini program, on each of its instances: the
// same Rollout in code, one SQL store, the audit pushes fed to the runner, an operator page. A grey
// release of 10% goes to the first 100 merchants; the rest follow a day after the first wave is
// final. (Runnable against the emulator: go run ./examples/rollout.)
func ExampleRunner() {
	ctx := context.Background()
	var p *wxopen.Platform // wxopen.New(...)
	var db *sql.DB         // sql.Open("mysql", dsn)
	store, err := sqlstore.New(db, sqlstore.MySQL, "")
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	r := rollout.NewRunner(rollout.Config{Store: store, MiniProgram: p.MiniProgram, Component: p.Component(),
		QuotaScope: p.ComponentAppID()})
	ro := &rollout.Rollout{ID: "tpl-42-v1.3.0", TemplateID: 42, UserVersion: "1.3.0", UserDesc: "spring menu",
		ExtJSON: func(_ context.Context, appID string) (any, error) {
			return miniprogram.ExtJSON{ExtAppID: appID}, nil
		},
		Privacy: &rollout.PrivacyPolicy{Template: miniprogram.PrivacyGuideTemplate{
			Texts: map[string]string{"Location": "推荐附近门店"}}},
		CheckReadiness: true,
		Release: rollout.ReleasePolicy{Mode: rollout.ReleaseGrey, GreyPercent: 10, GreyFor: 24 * time.Hour,
			FirstWave: 100, WaveDelay: 24 * time.Hour}}

	mh, err := p.MessageHandler(component.MessageHandlerConfig{OnAuditSuccess: r.OnAuditSuccess, OnAuditFail: r.OnAuditFail})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/wechat/message/", mh)
	http.Handle("/ops/rollouts/tpl-42-v1.3.0", r.Handler(ro.ID))

	if _, err := r.Start(ctx, ro); err != nil { // every instance may call it
		log.Fatal(err)
	}
	if err := r.Work(ctx, ro); err != nil { // returns when every merchant is final
		log.Fatal(err)
	}
}
