package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/api"
	"github.com/relance/relance/auth"
	"github.com/relance/relance/config"
	"github.com/relance/relance/demo"
	"github.com/relance/relance/devsink"
)

// runDev runs the whole stack in one process tree: the Temporal dev server
// with its Web UI, local sinks for the three channels (speaking SMTP and the
// Vonage API, so the real clients run), SQLite, the worker, the API and
// portal, and demo data. Ctrl-C stops everything it started.
func runDev(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	day := fs.Duration("day", cfg.Day, "length of a journey day (e.g. 10s plays a whole journey out in minutes)")
	cli := fs.String("temporal-cli", "bin/temporal", "path of the pinned Temporal CLI")
	data := fs.String("data", ".data", "folder for the databases, letters and received mail")
	uiPort := fs.Int("ui-port", 8233, "port of the Temporal Web UI")
	smtpAddr := fs.String("smtp-sink", "127.0.0.1:2525", "address of the local SMTP sink")
	seed := fs.Bool("demo", true, "create the demo data on first start")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *day <= 0 {
		return errors.New("--day must be positive")
	}
	cfg.Day = *day
	if err := os.MkdirAll(*data, 0o755); err != nil {
		return fmt.Errorf("create data folder: %w", err)
	}
	if os.Getenv("DATABASE_URL") == "" {
		cfg.DatabaseURL = "sqlite://" + filepath.Join(*data, "relance.db")
	}
	if os.Getenv("LETTERS_DIR") == "" {
		cfg.Letters.Dir = filepath.Join(*data, "letters")
	}
	cfg.Letters.Provider = "folder"

	// Channel sinks: the SMTP sink listens on its own port; the Vonage
	// stand-in is served by the API server under /dev/vonage.
	mail := &devsink.SMTPSink{Dir: filepath.Join(*data, "mail"), Logger: log.With("component", "smtp-sink")}
	if err := mail.Start(*smtpAddr); err != nil {
		return err
	}
	defer mail.Close()
	host, port, _ := net.SplitHostPort(mail.Addr())
	cfg.SMTP.Host, cfg.SMTP.TLS, cfg.SMTP.Username, cfg.SMTP.Password = host, "none", "", ""
	cfg.SMTP.Port, _ = strconv.Atoi(port)
	vonage := &devsink.VonageSink{
		APIKey: "dev", APISecret: "dev-secret",
		CallbackURL:     cfg.PublicURL + "/webhooks/vonage/status",
		SignatureSecret: cfg.Vonage.SignatureSecret, SignatureMethod: cfg.Vonage.SignatureMethod,
		Logger: log.With("component", "vonage-sink"),
	}
	defer vonage.Close()
	cfg.Vonage.BaseURL, cfg.Vonage.APIKey, cfg.Vonage.APISecret = cfg.PublicURL+"/dev/vonage", "dev", "dev-secret"
	if err := cfg.Validate(); err != nil {
		return err
	}

	tlog, err := os.OpenFile(filepath.Join(*data, "temporal.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open Temporal log: %w", err)
	}
	defer tlog.Close()
	log.Info("starting Temporal dev server", "cli", *cli, "address", cfg.Temporal.Address, "ui_port", *uiPort)
	tsrv, err := startDevTemporal(ctx, *cli, *data, cfg.Temporal.Address, *uiPort, tlog)
	if err != nil {
		return err
	}
	defer tsrv.Stop()

	c, release, err := connect(ctx, cfg, log, "relance-dev", true)
	gdb, tc := c.db, c.temporal
	if err != nil {
		return err
	}
	defer release()

	work, err := newWorker(cfg, log, gdb, tc)
	if err != nil {
		return err
	}
	p := startParts(ctx)
	defer p.cancel()
	p.Go("worker", work)

	orgID, created := int64(0), false
	if *seed {
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		orgID, created, err = demo.Seed(sctx, gdb, tc, time.Now())
		cancel()
		if err != nil {
			return err
		}
	}
	key := ""
	if orgID > 0 {
		if key, _, err = auth.Create(ctx, gdb, orgID, "dev "+time.Now().UTC().Format(time.RFC3339)); err != nil {
			return err
		}
	}

	page := devsink.NewOutboxPage("/dev/outbox", mail, vonage, cfg.Letters.Dir)
	deps := apiDeps(cfg, log, gdb, tc)
	deps.Extra = func(r *gin.Engine) {
		r.Any("/dev/vonage/*path", gin.WrapH(vonage))
		r.GET("/dev/outbox/*path", gin.WrapH(page))
	}
	router := api.NewRouter(deps)
	printDevBanner(cfg, *uiPort, mail.Addr(), key, created, *day)
	p.Go("API", func(ctx context.Context) error { return serveHTTP(ctx, cfg, log, c.tracing.Handler(router)) })
	err = p.Wait()
	log.Info("stopping: worker, API, sinks, Temporal dev server")
	return err
}

func printDevBanner(cfg config.Config, uiPort int, smtp, key string, created bool, day time.Duration) {
	seeded := "demo data already present"
	if created {
		seeded = "demo data created"
	}
	fmt.Printf(`
Relance is running (%s, a journey day lasts %s)

  API            %[3]s/api/v1   (OpenAPI: %[3]s/api/v1/openapi.json)
  Ready check    %[3]s/readyz
  Temporal UI    http://127.0.0.1:%[4]d/namespaces/default/workflows
  Outbox         %[3]s/dev/outbox   (emails via SMTP sink %[5]s, SMS via the Vonage stand-in, letters in %[6]s)
  Portal         %[3]s/portal   (open a customer's link from a message in the outbox, or type the code of a letter or SMS)

  Demo API key   %[7]s

  Try:  curl -H "Authorization: Bearer %[7]s" %[3]s/api/v1/invoices/1
  Ctrl-C stops everything.

`, seeded, day, cfg.PublicURL, uiPort, smtp, cfg.Letters.Dir, key)
}
