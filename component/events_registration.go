package component

import "context"

// Pushes of the trial ("beta") fast-registration route (API digest part 2, section 15.2), on the
// authorisation event URL. The personal route reports with notify_third_fasteregister
// (FastRegisterEvent, TaskID set) like the enterprise route; the route that reuses an official
// account's subject answers with its code directly (no push).

// InfoType values of the trial route. UNVERIFIED: the names rest on [SN] only (digest 15.2).
const (
	InfoTypeBetaRegister InfoType = "notify_third_fastregisterbetaapp"
	InfoTypeBetaVerify   InfoType = "notify_third_fastverifybetaapp"
)

// BetaRegisterEvent is notify_third_fastregisterbetaapp: a trial mini program was created (Status
// 0) for the registration UniqueID. Its authorisation arrives as an authorized push (exchanged by
// the Handler like any other).
type BetaRegisterEvent struct {
	PlatformEvent
	// MiniProgramAppID is the new trial mini program.
	MiniProgramAppID string
	Status           int
	Msg              string
	UniqueID         string
	Name             string
}

// Succeeded reports whether the trial mini program was created.
func (e *BetaRegisterEvent) Succeeded() bool { return e.Status == 0 }

// BetaVerifyEvent is notify_third_fastverifybetaapp: the verification that turns a trial mini
// program into a formal one ended; Status has the codes of notify_third_fasteregister (0 success).
type BetaVerifyEvent struct {
	PlatformEvent
	MiniProgramAppID string
	Status           int
	Msg              string
	Info             FastRegisterInfo
}

// Succeeded reports whether the mini program is now verified.
func (e *BetaVerifyEvent) Succeeded() bool { return e.Status == 0 }

// registrationXML holds the fields of the trial pushes.
type registrationXML struct {
	AppID  string `xml:"appid"`
	Status int    `xml:"status"`
	Msg    string `xml:"msg"`
	Info   struct {
		FastRegisterInfo
		UniqueID string `xml:"unique_id"`
		Name     string `xml:"name"`
	} `xml:"info"`
}

// dispatchRegistration hands a trial-route push to its callback; handled is false for other pushes.
func (h *Handler) dispatchRegistration(ctx context.Context, base *PlatformEvent, plain []byte) (handled bool, err error) {
	if base.InfoType != InfoTypeBetaRegister && base.InfoType != InfoTypeBetaVerify {
		return false, nil
	}
	var x registrationXML
	if err := decodeXML(plain, &x); err != nil {
		return true, badRequest("malformed " + string(base.InfoType) + " push: " + err.Error())
	}
	if base.InfoType == InfoTypeBetaRegister {
		return true, call(ctx, h.cfg.OnBetaRegister, &BetaRegisterEvent{PlatformEvent: *base, MiniProgramAppID: x.AppID,
			Status: x.Status, Msg: x.Msg, UniqueID: x.Info.UniqueID, Name: x.Info.Name})
	}
	info := x.Info.FastRegisterInfo
	info.Name = x.Info.Name
	return true, call(ctx, h.cfg.OnBetaVerify, &BetaVerifyEvent{PlatformEvent: *base, MiniProgramAppID: x.AppID,
		Status: x.Status, Msg: x.Msg, Info: info})
}
