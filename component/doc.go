// Package component is the third-party platform itself (WeChat calls it the "component"): its
// component_verify_ticket and component_access_token, the merchant authorisation flow (pre-auth code,
// authorisation URLs, api_query_auth), the access tokens of every authorised account refreshed from
// their stored refresh tokens, authorizer management (info, options, list), code templates, and the
// push handlers for the authorisation event URL (Handler) and the authorizers' message/event URL
// (MessageHandler).
//
// A Client is normally obtained from wxopen.Platform.Component. It keeps two kinds of state in two
// tokenstore.Store values (README, "Credentials: two kinds of state"), every key namespaced by the component
// appid so that several platforms can share one store:
//
//	token store (expiring, re-creatable)
//	  APPID:component_access_token
//	  APPID:authorizer:AUTHORIZER_APPID:access_token
//	credential store (durable: never evict)
//	  APPID:verify_ticket                              (expires 12 h after WeChat's push)
//	  APPID:authorizer:AUTHORIZER_APPID:refresh_token
//	  APPID:authorizer:AUTHORIZER_APPID:authorization  (JSON AuthorizationRecord)
//
// Every write of a credential carries tokenstore.WithReason naming the event or call that caused it
// ("push:component_verify_ticket", "api_query_auth", "api_authorizer_token", "push:unauthorized"…),
// for stores that keep an audit trail.
//
// Component jscode2session (mini-program login through the platform) is not here: the miniprogram
// package owns login and calls it through authorizer.Client.CallComponent.
package component
