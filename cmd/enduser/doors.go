package main

import (
	"github.com/spf13/cobra"

	"github.com/iotplatform/enduser-auth/domain"
)

// newMobileAppCmd is `enduser mobileapp add`: a WeChat Open Platform mobile
// application (the native app's login; wechatapp.go).
func newMobileAppCmd(e env) *cobra.Command {
	return newWeChatAppCmd(e, domain.AppKindMobileApp)
}

// newWebsiteAppCmd is `enduser website add`: a WeChat Open Platform website
// application with its redirect URIs (the website QR-code login;
// wechatapp.go).
func newWebsiteAppCmd(e env) *cobra.Command {
	return newWeChatAppCmd(e, domain.AppKindWebsite)
}
