// Package card issues WeChat membership cards from a third-party platform on behalf of an authorised
// official account: the card api_ticket, card/create with a typed member card, the cardExt signature
// that a mini program passes to wx.addCard, code decryption, the activation form and the activation
// plugin, member information and bonus/balance updates.
//
// With wxopen, get the Client of a card-owning official account from the Platform, which shares one
// [Tickets] among all of them so that the rate-limited api_ticket is fetched once per expiry per
// account:
//
//	c := platform.Card(officialAccountAppID)
//	cardID, err := c.Create(ctx, &card.MemberCard{...})
//	ext, err := c.CardExt(ctx, card.CardExtRequest{CardID: cardID})
//	// the mini program: wx.addCard({cardList: [ext]}) — CardExt marshals to {"cardId","cardExt"}
//
// Without wxopen.Platform, build one Tickets per platform with [NewTickets] and the Clients with
// [New]; never one Tickets per request, or every request fetches its own ticket.
//
// Traps this package absorbs:
//   - The api_ticket (type wx_card) has a very low quota: it is cached in the token store and
//     refreshed ahead of expiry, once across goroutines (and across processes with a Locker store).
//   - The cardExt signature takes the api_ticket of the official account that owns the card, even
//     when wx.addCard is called from a mini program.
//   - The activate-form plugin (appid [PluginAppID]) works only with codes WeChat generates: create
//     the card with UseCustomCode false when you use wx_activate or [Client.ActivateURL].
//   - The URL answered by activate/geturl carries base64 values ('=' padding) percent-encoded, at
//     times twice: [ParseActivateURL] decodes it with a real query parser.
//
// Every call takes a context first and returns *wxerr.APIError for a non-zero errcode; input that
// WeChat would refuse is rejected with a *wxerr.ValidationError before any request is sent.
package card
