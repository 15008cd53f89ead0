package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"
)

// cmdHealthcheck probes the local server's /healthz; distroless images have
// no curl, so the binary checks itself.
func cmdHealthcheck(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	url := fs.String("url", "", "URL to probe (default http://127.0.0.1<port of $ENDUSER_HTTP_ADDR>/healthz)")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	if *url == "" {
		cfg, err := loadConfig(e.getenv)
		if err != nil {
			return err
		}
		_, port, err := net.SplitHostPort(cfg.Binary.HTTPAddr)
		if err != nil {
			return fmt.Errorf("ENDUSER_HTTP_ADDR: %q is not host:port", cfg.Binary.HTTPAddr)
		}
		*url = "http://127.0.0.1:" + port + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", *url, resp.Status)
	}
	fmt.Fprintln(e.stdout, "ok")
	return nil
}
