package main

import "fmt"

// devPhoneBanner is the banner's phone number command: it logs the demo
// person in through the mini program, then binds the phone of a fake
// phoneCode ("<digits>.<anything>": the fake WeChat's getuserphonenumber
// answers +86 <digits>; see adapters/wechat/wechatfake/phone.go for the
// shapes that ask for each error) to the user of the token.
func devPhoneBanner(host, home, secret string) string {
	return fmt.Sprintf(`
Then bind the mini program user's phone number (a fake phoneCode "<digits>.<anything>" is +86 <digits>;
"err.40029.x", "err.-1.x", "nophone.x", "otherapp.<digits>.x" ask for WeChat's failures):

  APP=%s UD=%s SECRET=%s; CODE="demo.$(date +%%s%%N)"; SIG=$(printf '%%s' "$APP$CODE$SECRET" | sha256sum | cut -d' ' -f1); TOKEN=$(curl -sS -X POST "http://%s/v2/enduser/enduserapi/wechatMiniprogramAuthLogin?appId=$APP&jsCode=$CODE&signature=$SIG&userDomain=$UD%s" | sed -E 's/.*"accessToken":\{"token":"([^"]*)".*/\1/'); curl -sS -X POST -H "Authorization: $TOKEN" "http://%s/v2/enduser/enduserapi/wechatMiniprogramPhoneNumber?appId=$APP&phoneCode=13800138000.$(date +%%s%%N)"; echo
`, devMiniAppID, devUserDomain, secret, host, homeMCCParam(home), host)
}
