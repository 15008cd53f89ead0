package main

import (
	"github.com/spf13/cobra"

	"github.com/iotplatform/enduser-auth/domain"
)

// newMiniProgramCmd is `enduser miniprogram add` (wechatapp.go).
func newMiniProgramCmd(e env) *cobra.Command {
	return newWeChatAppCmd(e, domain.AppKindMiniProgram)
}
