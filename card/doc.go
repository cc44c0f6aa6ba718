// Package card issues WeChat membership cards from a third-party platform on behalf of an authorised
// official account: the card image upload (logos, banners), the card api_ticket, card/create with a
// typed member card, the card list, stock, pay cell, QR codes and landing pages, the cardExt
// signature that a mini program passes to wx.addCard, code decryption, reading and consuming codes at
// the till, the activation form and the activation plugin, member information and bonus/balance
// updates. The pushes about cards (a user took, deleted, activated or used a card) are typed by
// component.MessageHandler.
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
//   - card/create takes as logo_url only an image uploaded with [Client.UploadImage] (media/uploadimg,
//     JPEG or PNG, 1 MB at most; sent in the form field WeChat documents, [UploadImageField]).
//   - A consume is not idempotent and its answer can be lost: [Client.Consume] reads the code first,
//     sends the consume once, and settles a lost answer by reading the code again, so a till is told
//     the truth (consumed by this call, consumed before, not consumed, or unknown) and never redeems
//     a code twice.
//
// Every call takes a context first and returns *wxerr.APIError for a non-zero errcode; input that
// WeChat would refuse is rejected with a *wxerr.ValidationError before any request is sent.
package card
