package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strings"
)

// Status is where a rollout stands: for the operator page and its JSON.
type Status struct {
	Run Run
	// Counts are the merchants per state; Total their sum.
	Counts map[State]int
	Total  int
	// QuotaMonth and Quota are the platform's audit quota account this month.
	QuotaMonth string
	Quota      Quota
	// Problems are up to MaxProblems merchants per failed, rejected and skipped state, with
	// their reasons.
	Problems []Merchant
}

// MaxProblems bounds the merchants per problem state in a Status.
const MaxProblems = 50

// Status reads where the rollout id stands.
func (r *Runner) Status(ctx context.Context, id string) (*Status, error) {
	run, err := r.cfg.Store.Run(ctx, id)
	if err != nil {
		return nil, err
	}
	counts, err := r.cfg.Store.Counts(ctx, id, -1)
	if err != nil {
		return nil, err
	}
	st := &Status{Run: run, Counts: counts, QuotaMonth: chinaMonth(r.cfg.Now())}
	for _, n := range counts {
		st.Total += n
	}
	if st.Quota, err = r.cfg.Store.AuditQuota(ctx, r.cfg.QuotaScope, st.QuotaMonth); err != nil {
		return nil, err
	}
	for _, s := range []State{Failed, Rejected, Skipped} {
		if counts[s] == 0 {
			continue
		}
		ms, err := r.cfg.Store.Merchants(ctx, id, s, "", MaxProblems)
		if err != nil {
			return nil, err
		}
		st.Problems = append(st.Problems, ms...)
	}
	return st, nil
}

// MerchantView is one merchant with its history.
type MerchantView struct {
	Merchant Merchant
	History  []Transition
}

// Handler serves the rollout id read-only: GET shows the progress per state, the audit quota left
// and the failures with their reasons as an HTML page, or as JSON with ?format=json (or Accept:
// application/json); ?appid=wx… shows one merchant and its history as JSON. Operator actions are
// Runner methods (Pause, Resume, Cancel, RetryFailed, Revert…): put them behind your own
// authenticated routes.
func (r *Runner) Handler(id string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		asJSON := req.URL.Query().Get("format") == "json" || strings.Contains(req.Header.Get("Accept"), "application/json")
		if app := req.URL.Query().Get("appid"); app != "" {
			m, err := r.cfg.Store.Merchant(req.Context(), id, app)
			if err != nil {
				httpError(w, err)
				return
			}
			h, err := r.cfg.Store.History(req.Context(), id, app)
			if err != nil {
				httpError(w, err)
				return
			}
			writeJSON(w, MerchantView{Merchant: m, History: h})
			return
		}
		st, err := r.Status(req.Context(), id)
		if err != nil {
			httpError(w, err)
			return
		}
		if asJSON {
			writeJSON(w, st)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, newPageData(st))
	})
}

func httpError(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrNotFound) {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	http.Error(w, "store error", http.StatusInternalServerError)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

type pageRow struct {
	State   State
	N       int
	Percent float64
	Color   string
}

type pageData struct {
	*Status
	Rows []pageRow
	Done int
}

// stateColors colour the progress bar: waiting greys, in flight blues, done green, problems red.
var stateColors = map[State]string{Planned: "#d0d4da", Committed: "#b7c3d0", PrivacySet: "#9fb3c8", Submitting: "#7aa5d6",
	Submitted: "#4c8bd6", Approved: "#2f6fb8", Releasing: "#6cc3a0", Grey: "#9ad7b5", Promoting: "#6cc3a0",
	Released: "#2e9e5b", Rejected: "#e0703a", Skipped: "#c9a227", Failed: "#c0392b", Reverting: "#8e6bbf", Reverted: "#6c4f99"}

func newPageData(st *Status) pageData {
	d := pageData{Status: st}
	for _, s := range States {
		n := st.Counts[s]
		if s.Final() {
			d.Done += n
		}
		if n == 0 {
			continue
		}
		d.Rows = append(d.Rows, pageRow{State: s, N: n, Percent: 100 * float64(n) / float64(max(st.Total, 1)), Color: stateColors[s]})
	}
	return d
}

var page = template.Must(template.New("rollout").Funcs(template.FuncMap{
	"join": func(v []string) string { return strings.Join(v, "; ") },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Rollout {{.Run.ID}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px;margin:0 0 4px}.sub{color:#666;margin-bottom:16px}
.bar{display:flex;height:28px;border-radius:4px;overflow:hidden;border:1px solid #ccc;margin:8px 0 16px}
.bar div{height:100%}
table{border-collapse:collapse;margin-bottom:18px}td,th{padding:4px 10px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:middle}
.num{text-align:right;font-variant-numeric:tabular-nums}.status{font-weight:600}
</style></head><body>
<h1>Rollout {{.Run.ID}}</h1>
<div class="sub">template {{.Run.TemplateID}}, version {{.Run.UserVersion}} · status <span class="status">{{.Run.Status}}</span> ·
{{.Done}} of {{.Total}} merchants final · audit quota {{.QuotaMonth}}: {{.Quota.Left}} left ({{.Quota.Used}} used of {{.Quota.Ceiling}})</div>
<div class="bar">{{range .Rows}}<div title="{{.State}}: {{.N}}" style="width:{{printf "%.3f" .Percent}}%;background:{{.Color}}"></div>{{end}}</div>
<table><tr><th>state</th><th class="num">merchants</th><th class="num">share</th></tr>
{{range .Rows}}<tr><td><span class="sw" style="background:{{.Color}}"></span>{{.State}}</td><td class="num">{{.N}}</td><td class="num">{{printf "%.1f" .Percent}}%</td></tr>
{{end}}</table>
{{if .Problems}}<h2 style="font-size:16px">Failures</h2>
<table><tr><th>appid</th><th>state</th><th>attempt</th><th>reason</th></tr>
{{range .Problems}}<tr><td>{{.AppID}}</td><td>{{.State}}</td><td class="num">{{.Attempt}}</td><td>{{if .Reason}}{{.Reason}}{{if .ScreenShots}} (screenshots: {{join .ScreenShots}}){{end}}{{else if .Gates}}{{join .Gates}}{{else}}{{.Error}}{{end}}</td></tr>
{{end}}</table>{{end}}
</body></html>
`))
