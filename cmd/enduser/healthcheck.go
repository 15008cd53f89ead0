package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// newHealthcheckCmd is `enduser healthcheck [--url U]`.
func newHealthcheckCmd(e env) *cobra.Command {
	c := newLeaf("healthcheck", "Exit 0 when the local server answers /healthz (for container health checks)")
	url := c.Flags().String("url", "", "URL to probe (default http://127.0.0.1:<port of $ENDUSER_HTTP_ADDR>/healthz)")
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		return cmdHealthcheck(cmd.Context(), e, *url)
	}
	return c
}

// cmdHealthcheck probes the local server's /healthz; distroless images have
// no curl, so the binary checks itself.
func cmdHealthcheck(ctx context.Context, e env, url string) error {
	if url == "" {
		cfg, err := loadConfig(e.getenv)
		if err != nil {
			return err
		}
		_, port, err := net.SplitHostPort(cfg.Binary.HTTPAddr)
		if err != nil {
			return fmt.Errorf("ENDUSER_HTTP_ADDR: %q is not host:port", cfg.Binary.HTTPAddr)
		}
		url = "http://127.0.0.1:" + port + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
	}
	fmt.Fprintln(e.stdout, "ok")
	return nil
}
