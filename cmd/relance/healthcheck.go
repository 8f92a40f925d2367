package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/relance/relance/config"
)

// runHealthcheck is `relance healthcheck [URL]`: it exits 0 when URL answers
// 2xx within 5 s; without URL it asks /readyz on the configured listen
// address. The container image has no shell or curl, so compose's health
// checks call the binary itself.
func runHealthcheck(ctx context.Context, cfg config.Config, args []string) error {
	url := readyURL(cfg.Listen)
	switch len(args) {
	case 0:
	case 1:
		url = args[0]
	default:
		return errors.New("usage: relance healthcheck [URL]")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("health check URL %q: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health check %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("health check %s: %s: %s", url, resp.Status, body)
	}
	return nil
}

// readyURL is /readyz on a listen address; an address that listens on every
// interface (":8080", "0.0.0.0:8080", "[::]:8080") is asked on loopback.
func readyURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen + "/readyz"
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz"
}
