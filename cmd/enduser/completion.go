package main

import (
	"github.com/spf13/cobra"
)

// newCompletionCmd is `enduser completion bash|zsh|fish|powershell`: the
// shell's completion script on standard output. Cobra completes from the
// binary itself (its hidden __complete command), so the script stays right
// as commands and flags change.
func newCompletionCmd(e env) *cobra.Command {
	c := newLeaf("completion bash|zsh|fish|powershell", "Print the shell completion script")
	c.Long = `Print the completion script of a shell on standard output. For example:

  bash:        source <(enduser completion bash)
               (or save it in /etc/bash_completion.d/enduser; needs bash-completion)
  zsh:         enduser completion zsh > "${fpath[1]}/_enduser"
               (needs "autoload -U compinit; compinit" in ~/.zshrc)
  fish:        enduser completion fish > ~/.config/fish/completions/enduser.fish
  PowerShell:  enduser completion powershell | Out-String | Invoke-Expression`
	c.ValidArgs = []string{"bash", "zsh", "fish", "powershell"}
	c.ValidArgsFunction = nil
	noDesc := c.Flags().Bool("no-descriptions", false, "complete without the commands' and flags' descriptions")
	c.RunE = func(cmd *cobra.Command, pos []string) error {
		if len(pos) != 1 {
			return usageErr("completion bash|zsh|fish|powershell")
		}
		root, w, desc := cmd.Root(), e.stdout, !*noDesc
		switch pos[0] {
		case "bash":
			return root.GenBashCompletionV2(w, desc)
		case "zsh":
			if desc {
				return root.GenZshCompletion(w)
			}
			return root.GenZshCompletionNoDesc(w)
		case "fish":
			return root.GenFishCompletion(w, desc)
		case "powershell":
			if desc {
				return root.GenPowerShellCompletionWithDesc(w)
			}
			return root.GenPowerShellCompletion(w)
		}
		return usageErr("completion bash|zsh|fish|powershell, not %q", pos[0])
	}
	return c
}
