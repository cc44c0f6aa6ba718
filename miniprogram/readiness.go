package miniprogram

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Gate names a condition WeChat checks before it accepts a submit_audit or a release.
type Gate string

// The gates Readiness checks (API digest part 2, section 22).
const (
	GateCommit             Gate = "commit"              // code committed (85086)
	GateAuditPending       Gate = "audit_pending"       // no audit under review (85009)
	GateBasicInfo          Gate = "basic_info"          // name, avatar, introduction set (86002)
	GateCategory           Gate = "category"            // an approved category (85008)
	GatePrivacyScan        Gate = "privacy_scan"        // the privacy scan of the commit finished (61039)
	GatePrivacyDeclaration Gate = "privacy_declaration" // privacy APIs in requiredPrivateInfos (61040)
	GatePrivacyInterface   Gate = "privacy_interface"   // privacy APIs approved (61040)
	GatePrivacyGuide       Gate = "privacy_guide"       // the guide declares every detected key (61040)
	GateAuditQuota         Gate = "audit_quota"         // the platform's monthly quota (85085)
	GateApprovedAudit      Gate = "approved_audit"      // release: an approved, unreleased version (85019/85020/85052)
	GateICPFiling          Gate = "icp_filing"          // release: the mini program is ICP-filed (icp.go)
	GateDomains            Gate = "domains"             // server domains set: not refused by WeChat, but requests fail at run time
)

// Stage is the call a gate holds back.
type Stage string

// Stages.
const (
	StageSubmit  Stage = "submit_audit"
	StageRelease Stage = "release"
	// StageRuntime gates are not refused by WeChat; the released mini program fails without them.
	StageRuntime Stage = "runtime"
)

// ClosedGate is a gate that is still closed.
type ClosedGate struct {
	Gate  Gate
	Stage Stage
	// Code is the errcode WeChat answers the call of Stage while the gate is closed (0 for
	// StageRuntime).
	Code wxerr.Code
	// Detail says what is missing; Fix what to do.
	Detail string
	Fix    string
}

// Readiness is what stands between the mini program and a submit_audit or a release.
type Readiness struct {
	// Closed are the gates still closed, in the order of the onboarding steps.
	Closed []ClosedGate
	// Calls is the number of WeChat calls Readiness made.
	Calls int
}

// CanSubmit reports whether no gate holds back submit_audit.
func (r *Readiness) CanSubmit() bool { return !r.closed(StageSubmit) }

// CanRelease reports whether no gate holds back release.
func (r *Readiness) CanRelease() bool { return !r.closed(StageRelease) }

func (r *Readiness) closed(st Stage) bool {
	for _, g := range r.Closed {
		if g.Stage == st {
			return true
		}
	}
	return false
}

// Gate returns the closed gate g, and false when it is open.
func (r *Readiness) Gate(g Gate) (ClosedGate, bool) {
	for _, c := range r.Closed {
		if c.Gate == g {
			return c, true
		}
	}
	return ClosedGate{}, false
}

// Readiness reads, in 8 to 13 calls and changing nothing, every gate still closed before the
// mini program's next submit_audit or release: basic info, an approved category, the ICP filing, the committed
// code, its privacy scan, declarations and interfaces, the privacy guide against the scan, the
// platform's audit quota, a pending audit, an approved version, and its server domains. Each closed
// gate carries the errcode WeChat would answer and what to do. The independent reads run
// concurrently (the longest chain is 4 calls); the first error ends them all. It assumes
// submit_audit is sent without privacy_api_not_use.
func (c *Client) Readiness(ctx context.Context) (*Readiness, error) {
	if err := c.ready(); err != nil {
		return nil, err
	}
	checks := []func(context.Context, *gateReads) error{
		c.checkBasicInfo, c.checkCategory, c.checkICP, c.checkAudit, c.checkCode, c.checkQuota, c.checkDomains,
	}
	reads := make([]gateReads, len(checks))
	g, gctx := errgroup.WithContext(ctx)
	for i, check := range checks {
		g.Go(func() error { return check(gctx, &reads[i]) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	r := &Readiness{}
	for _, rd := range reads { // in the order of the checks: a stable answer
		r.Closed = append(r.Closed, rd.closed...)
		r.Calls += rd.calls
	}
	return r, nil
}

// gateReads is what one check found, and the calls it made.
type gateReads struct {
	closed []ClosedGate
	calls  int
}

func (o *gateReads) add(g Gate, st Stage, code wxerr.Code, detail, fix string) {
	o.closed = append(o.closed, ClosedGate{Gate: g, Stage: st, Code: code, Detail: detail, Fix: fix})
}

// count counts a call and returns its error.
func (o *gateReads) count(err error) error {
	o.calls++
	return err
}

func (c *Client) checkBasicInfo(ctx context.Context, o *gateReads) error {
	info, err := c.BasicInfo(ctx)
	if o.count(err) != nil {
		return err
	}
	var missing []string
	if info.Nickname == "" {
		missing = append(missing, "name")
	}
	if info.HeadImageInfo.HeadImageURL == "" {
		missing = append(missing, "avatar")
	}
	if info.SignatureInfo.Signature == "" {
		missing = append(missing, "introduction")
	}
	if len(missing) > 0 {
		o.add(GateBasicInfo, StageSubmit, wxerr.CodeBasicInfoMissing, strings.Join(missing, ", ")+" not set",
			"SetNickname, SetHeadImage, SetSignature")
	}
	return nil
}

func (c *Client) checkCategory(ctx context.Context, o *gateReads) error {
	cats, err := c.Categories(ctx)
	if o.count(err) != nil {
		return err
	}
	if len(cats) > 0 {
		return nil
	}
	detail := "no approved service category"
	acc, err := c.AccountCategories(ctx)
	if o.count(err) != nil {
		return err
	}
	for _, a := range acc.Categories {
		detail += "; " + a.FirstName + " > " + a.SecondName + " " + a.AuditStatus.String()
	}
	o.add(GateCategory, StageSubmit, wxerr.CodeCategoryNotApproved, detail,
		"AddCategories (with the qualifications of a sensitive category) and wait for the wxa_category_audit approval")
	return nil
}

func (c *Client) checkAudit(ctx context.Context, o *gateReads) error {
	latest, err := c.LatestAuditStatus(ctx)
	o.count(err)
	switch {
	case wxerr.CodeOf(err) == wxerr.CodeInvalidAuditID: // no audit yet
		o.add(GateApprovedAudit, StageRelease, wxerr.CodeNoAuditVersion, "no audit yet", "SubmitAudit and wait for the approval")
	case err != nil:
		return err
	case latest.Status == AuditReviewing || latest.Status == AuditDelayed:
		o.add(GateAuditPending, StageSubmit, wxerr.CodeAuditPending, "audit "+itoa(latest.AuditID)+" is "+latest.Status.String(),
			"wait for weapp_audit_success/fail, or UndoAudit")
		o.add(GateApprovedAudit, StageRelease, wxerr.CodeNotReleasable, "audit "+itoa(latest.AuditID)+" is "+latest.Status.String(),
			"wait for the approval (SpeedUpAudit to expedite)")
	case latest.Status != AuditApproved:
		o.add(GateApprovedAudit, StageRelease, wxerr.CodeNotReleasable, "the latest audit is "+latest.Status.String(),
			"fix the reasons, commit, SubmitAudit again")
	default:
		v, err := c.VersionInfo(ctx)
		if o.count(err) != nil {
			return err
		}
		live := v.Release != nil && v.Release.Version == latest.UserVersion && !v.Release.Time.Before(latest.SubmitAuditTime)
		if live { // a grey release also shows as live, but the full release is still to come
			plan, err := c.GrayReleasePlan(ctx)
			if o.count(err) != nil {
				return err
			}
			live = plan.Status != GrayRunning
		}
		if live {
			o.add(GateApprovedAudit, StageRelease, wxerr.CodeAlreadyReleased, "the approved version "+latest.UserVersion+" is already live",
				"commit a new version and SubmitAudit")
		}
	}
	return nil
}

func (c *Client) checkQuota(ctx context.Context, o *gateReads) error {
	quota, err := c.AuditQuota(ctx)
	if o.count(err) != nil {
		return err
	}
	if quota.Rest <= 0 {
		o.add(GateAuditQuota, StageSubmit, wxerr.CodeAuditQuota, "the platform's audit quota is used up ("+itoa(int64(quota.Limit))+" a month)",
			"wait for next month or request a raise; the quota is shared by every mini program of the platform")
	}
	return nil
}

func (c *Client) checkDomains(ctx context.Context, o *gateReads) error {
	d, err := c.EffectiveDomain(ctx)
	if o.count(err) != nil {
		return err
	}
	if len(d.Effective.RequestDomain) == 0 {
		o.add(GateDomains, StageRuntime, 0, "no request domain: wx.request fails in the released mini program",
			"register the platform's server domains, then ModifyDomain (or ModifyDomainDirectly)")
	}
	return nil
}

// checkCode checks the committed code, its privacy scan and the privacy guide.
func (c *Client) checkCode(ctx context.Context, o *gateReads) error {
	_, err := c.Pages(ctx)
	o.count(err)
	switch code := wxerr.CodeOf(err); {
	case code == wxerr.CodeNoCommittedCode || code == wxerr.CodeCommitFirst:
		o.add(GateCommit, StageSubmit, wxerr.CodeCommitFirst, "no code committed", "Commit a template")
		return nil
	case err != nil:
		return err
	}
	p := c.Privacy()
	scan, err := p.CodePrivacyInfo(ctx)
	o.count(err)
	var pending *ScanPendingError
	switch {
	case errors.As(err, &pending):
		o.add(GatePrivacyScan, StageSubmit, wxerr.CodePrivacyScanPending, "WeChat is still scanning the last commit for privacy APIs",
			"wait about a minute (WaitCodePrivacyInfo), then check again")
		return nil
	case err != nil:
		return err
	}
	if len(scan.WithoutConf) > 0 {
		o.add(GatePrivacyDeclaration, StageSubmit, wxerr.CodePrivacyConfigMissing,
			"not declared in ext_json requiredPrivateInfos: "+strings.Join(scan.WithoutConf, ", "),
			"add them to ExtJSON.RequiredPrivateInfos and Commit again")
	}
	if len(scan.WithoutAuth) > 0 {
		list, err := p.Interfaces(ctx)
		if o.count(err) != nil {
			return err
		}
		var parts []string
		for _, api := range scan.WithoutAuth {
			st := InterfaceNotApplied.String()
			for _, it := range list {
				if it.APIName == api {
					st = it.Status.String()
				}
			}
			parts = append(parts, api+" ("+st+")")
		}
		o.add(GatePrivacyInterface, StageSubmit, wxerr.CodePrivacyConfigMissing, "privacy interfaces not enabled: "+strings.Join(parts, ", "),
			"Privacy().ApplyInterface and wait for the wxa_privacy_apply approval, or submit with PrivacyAPINotUse")
	}
	guide, err := p.Setting(ctx, PrivacyDevelopment)
	if o.count(err) != nil {
		return err
	}
	if u := guide.Undeclared(); len(u) > 0 {
		detail := "the privacy guide does not declare " + strings.Join(u, ", ")
		if len(guide.Items) == 0 {
			detail = "no privacy guide while the code uses " + strings.Join(u, ", ")
		}
		o.add(GatePrivacyGuide, StageSubmit, wxerr.CodePrivacyConfigMissing, detail,
			"Privacy().DeclareGuide with the platform's guide template (or SetSetting)")
	}
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
