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
  relance dev [options]        the whole stack on one machine, on SQLite, with demo data
      --day 24h                  length of a journey day (10s plays a whole journey out in minutes)
      --temporal-cli bin/temporal  path of the pinned Temporal CLI
      --data .data               folder for the databases, letters and received mail
      --ui-port 8233             port of the Temporal Web UI
      --smtp-sink 127.0.0.1:2525 address of the local SMTP sink
      --demo=true                create the demo data on first start
  relance api                  the REST API and webhooks (RELANCE_LISTEN)
  relance worker               the Temporal worker (health on RELANCE_WORKER_LISTEN)
  relance migrate              bring the database schema up to date
  relance import FILE --administration ID [options]
      --administration ID        the administration the file belongs to (required)
      --full-snapshot            the file lists every open invoice: open invoices absent from it are closed as paid
      --format csv|json          default: from the file name, then its content
      --report FILE              write the JSON report to FILE (default: standard output)
  relance apikey create --organization ID [--name NAME] [--read-only]
  relance org create --name NAME [--key-name NAME]   prints the organization's ID and first API key
  relance temporal setup [--retention 720h] [--timeout 2m]
                               registers TEMPORAL_NAMESPACE and the search attributes (idempotent)
  relance healthcheck [URL]    exit 0 when URL answers 2xx within 5 s; the default URL is
                               /readyz on the configured listen address (RELANCE_LISTEN)

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
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	if cmd == "healthcheck" {
		return runHealthcheck(ctx, cfg, args)
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
		return runAPIKey(ctx, cfg, log, args, os.Stdout)
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
