package wxopen

import (
	"context"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/card"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/openplatform"
)

// MiniProgram returns the client for the authorised mini program appID: code commit, audit and
// release, domains, basic info, login. It is a cheap value over the Platform's shared caller and
// stores; get one per request. Its ICP look-up tables are cached once for the Platform.
func (p *Platform) MiniProgram(appID string) *miniprogram.Client {
	a := p.authorizer(appID)
	return miniprogram.NewWithICPLookups(&a, p.icpLookups)
}

// OpenPlatform returns the open-platform account client of the authorised account appID (create,
// bind, unbind, get), which makes the merchant's apps share one UnionID.
func (p *Platform) OpenPlatform(appID string) *openplatform.Client {
	return openplatform.New(p.Authorizer(appID))
}

// FastRegistration returns the client that registers new mini programs for merchants, with the
// component token.
func (p *Platform) FastRegistration() *miniprogram.FastRegistration {
	return miniprogram.NewFastRegistration(p.caller, authorizer.Component{AppID: p.comp.AppID(), Token: p.comp.TokenSource()})
}

// Card returns the membership-card client of the authorised official account appID. Its wx_card
// api_ticket is cached per account and shared by every Card client of the Platform, so a ticket is
// fetched once per expiry however many requests sign a cardExt.
func (p *Platform) Card(appID string) *card.Client {
	return card.New(p.Authorizer(appID), p.cardTickets)
}

// forgetCardTicket runs before next on an unauthorized push that was applied: the account's card
// api_ticket leaves the token store and the ticket cache's memory. The ticket is an expiring token, so
// a store that fails here does not fail the push (it is logged); the memory is released regardless.
func (p *Platform) forgetCardTicket(next func(context.Context, *component.UnauthorizedEvent) error) func(context.Context, *component.UnauthorizedEvent) error {
	return func(ctx context.Context, ev *component.UnauthorizedEvent) error {
		if !ev.Superseded {
			if err := p.cardTickets.Forget(ctx, ev.AuthorizerAppID); err != nil && p.logger != nil {
				p.logger.WarnContext(ctx, "wxopen: card api_ticket of a revoked account not dropped from the store",
					"authorizer_appid", ev.AuthorizerAppID, "err", err)
			}
		}
		if next == nil {
			return nil
		}
		return next(ctx, ev)
	}
}
