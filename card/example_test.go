package card_test

import (
	"encoding/json"
	"fmt"
	"log"

	"github.com/wxopen-go/wxopen/card"
)

// SignCardExt is CardExt with the ticket, the time and the nonce given: the signature covers the
// sorted api_ticket, timestamp, card_id, code and nonce_str (API digest 7.7). In a service, call
// Client.CardExt, which takes the cached api_ticket, the clock and a random nonce itself.
func ExampleSignCardExt() {
	ext, err := card.SignCardExt("TEST_API_TICKET",
		card.CardExtRequest{CardID: "pCARD_ID_EXAMPLE", Code: "CODE123"},
		1700000000, "NONCE01")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ext.Ext)

	// The mini program passes the entries to wx.addCard({cardList}) as they marshal.
	cardList, err := json.Marshal([]card.CardExt{ext})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(cardList))
	// Output:
	// {"code":"CODE123","timestamp":"1700000000","nonce_str":"NONCE01","signature":"dd4dd7944708af09f9a63242c633b5d037f28d55"}
	// [{"cardId":"pCARD_ID_EXAMPLE","cardExt":"{\"code\":\"CODE123\",\"timestamp\":\"1700000000\",\"nonce_str\":\"NONCE01\",\"signature\":\"dd4dd7944708af09f9a63242c633b5d037f28d55\"}"}]
}

// The URL activate/geturl answers carries base64 values percent-encoded. ParseActivateURL decodes
// them, '=' padding and '+' intact, into what wx.navigateToMiniProgram needs to open the
// activation plugin.
func ExampleParseActivateURL() {
	raw := "https://mp.weixin.qq.com/bizmall/activatemembercard?action=preshow&&encrypt_card_id=" +
		"pbLatjnrwUUdZI641gKdTMJ9Mpd8%2Bbs%2FvGE30%3D%3D&outer_str=shop%2042&biz=MzIyMjQ5NjQ4MA%3D%3D#wechat_redirect"
	p, err := card.ParseActivateURL(raw)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("appId:", p.AppID)
	fmt.Println("encrypt_card_id:", p.EncryptCardID)
	fmt.Println("outer_str:", p.OuterStr)
	fmt.Println("biz:", p.Biz)

	extraData, err := json.Marshal(p.ExtraData)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("extraData:", string(extraData))
	// Output:
	// appId: wxeb490c6f9b154ef9
	// encrypt_card_id: pbLatjnrwUUdZI641gKdTMJ9Mpd8+bs/vGE30==
	// outer_str: shop 42
	// biz: MzIyMjQ5NjQ4MA==
	// extraData: {"encrypt_card_id":"pbLatjnrwUUdZI641gKdTMJ9Mpd8+bs/vGE30==","outer_str":"shop 42","biz":"MzIyMjQ5NjQ4MA=="}
}
