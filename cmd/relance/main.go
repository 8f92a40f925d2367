// Command relance is the one binary of Relance:
//
//	relance dev                 the whole stack on one machine (Temporal dev server, worker, API, sinks, demo data)
//	relance api                 the REST API, portal and webhooks
//	relance worker              the Temporal worker
//	relance migrate             bring the database schema up to date
//	relance import FILE --administration ID   import customers and invoices
//	relance apikey create --organization ID --name NAME
//	relance org create --name NAME      a tenant and its first API key
//	relance temporal setup              the namespace and search attributes on any Temporal cluster
//	relance healthcheck [URL]   for container health checks
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/relance/relance/config"
)

const usage = `relance: accounts-receivable automation

Usage:
  relance dev [--day 24h] [--temporal-cli bin/temporal] [--data .data]
  relance api
  relance worker
  relance migrate
  relance import FILE --administration ID [--full-snapshot] [--format csv|json]
  relance apikey create --organization ID [--name NAME]
  relance org create --name NAME [--key-name NAME]   prints the organization's ID and first API key
  relance temporal setup [--retention 720h]          registers the namespace and search attributes (idempotent)
  relance healthcheck [URL]   exit 0 when URL (default http://127.0.0.1:8080/readyz) answers 2xx

Configuration comes from environment variables (see README.md).
`

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		fmt.Fprint(os.Stderr, usage)
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "relance:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cmd string, args []string) error {
	if cmd == "healthcheck" {
		// No configuration needed: it must work in any container.
		return runHealthcheck(ctx, args)
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	log := newLogger(cfg)
	slog.SetDefault(log)
	switch cmd {
	case "dev":
		return runDev(ctx, cfg, log, args)
	case "api":
		return runAPI(ctx, cfg, log)
	case "worker":
		return runWorker(ctx, cfg, log)
	case "migrate":
		return runMigrate(ctx, cfg, log)
	case "import":
		return runImport(ctx, cfg, log, args)
	case "apikey":
		return runAPIKey(ctx, cfg, args)
	case "org":
		return runOrg(ctx, cfg, log, args, os.Stdout)
	case "temporal":
		return runTemporal(ctx, cfg, log, args, os.Stdout)
	}
	return errors.New("unknown command " + cmd + "\n\n" + usage)
}

func newLogger(cfg config.Config) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(cfg.LogFormat, "json") {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
