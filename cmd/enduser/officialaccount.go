package main

import (
	"github.com/spf13/cobra"

	"github.com/iotplatform/enduser-auth/domain"
)

// newOfficialAccountCmd is `enduser officialaccount add` (wechatapp.go).
func newOfficialAccountCmd(e env) *cobra.Command {
	return newWeChatAppCmd(e, domain.AppKindOfficialAccount)
}
