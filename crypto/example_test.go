package crypto_test

import (
	"errors"
	"fmt"

	"github.com/wxopen-go/wxopen/crypto"
)

// A push arrives as POST ?msg_signature=…&timestamp=…&nonce=… with an XML envelope body; this one
// is WeChat's published sample (digest 3.1, vector B1).
func ExampleMsgCrypt_DecryptMessage() {
	c, err := crypto.NewMsgCrypt("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")
	if err != nil {
		panic(err)
	}
	body := []byte("<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt></xml>")

	msg, err := c.DecryptMessage("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", body)
	fmt.Printf("%s %v\n", msg, err)

	_, err = c.DecryptMessage("0000000000000000000000000000000000000000", "1409659813", "1372623149", body)
	fmt.Println(errors.Is(err, crypto.ErrSignature), err)

	fmt.Printf("%+v\n", c) // never the token or the key
	// Output:
	// <xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>
	// <FromUserName><![CDATA[mycreate]]></FromUserName>
	// <CreateTime>1409659813</CreateTime>
	// <MsgType><![CDATA[text]]></MsgType>
	// <Content><![CDATA[hello]]></Content>
	// <MsgId>4561255354251345929</MsgId>
	// <AgentID>218</AgentID>
	// </xml> <nil>
	// true wxcrypto: msg_signature does not match (-40001)
	// crypto.MsgCrypt{AppID: wx5823bf96d3bd56c7}
}

// The cardExt signature for wx.addCard (digest 7.7): api_ticket, timestamp, card_id, code, openid
// and nonce_str, in any order.
func ExampleSortedSHA1() {
	fmt.Println(crypto.SortedSHA1("TEST_API_TICKET", "1700000000", "pCARD_ID_EXAMPLE", "CODE123", "NONCE01"))
	// Output: dd4dd7944708af09f9a63242c633b5d037f28d55
}

func ExampleDecryptUserData() {
	plain, err := crypto.DecryptUserData(crypto.UserData{
		SessionKey:    "tiihtNczf5v6AKRyjwEUhQ==",
		IV:            "r7BXXKkLb8qrSNn05n0qiA==",
		AppID:         "wx4f4bc4dec97d474b",
		EncryptedData: "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew==",
	})
	fmt.Println(string(plain), err)
	// Output: {"openId":"oGZUI0egBJY1zhBYw2KhdUfwVJJE","nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/aSKcBBPpibyKNicHNTMM0qJVh8Kjgiak2AHWr8MHM4WgMEm7GFhsf8OYrySdbvAMvTsw3mo8ibKicsnfN5pRjl1p8HQ/0","unionId":"ocMvos6NjeKLIBqg5Mr9QjxrP1FA","watermark":{"timestamp":1477314187,"appid":"wx4f4bc4dec97d474b"}} <nil>
}
