package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"gorm.io/gorm"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/api"
	"github.com/relance/relance/app"
	"github.com/relance/relance/channels"
	"github.com/relance/relance/channels/email"
	"github.com/relance/relance/channels/letter"
	"github.com/relance/relance/channels/sms"
	"github.com/relance/relance/config"
	"github.com/relance/relance/db"
	"github.com/relance/relance/inbound"
	"github.com/relance/relance/metrics"
	"github.com/relance/relance/portal"
	"github.com/relance/relance/tracing"
	"github.com/relance/relance/worker"
)

func openDB(ctx context.Context, cfg config.Config) (*gorm.DB, error) {
	gdb, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := db.SetMaxConns(gdb, cfg.DBMaxConns); err != nil {
		_ = db.Close(gdb)
		return nil, err
	}
	return gdb, nil
}

func dialTemporal(ctx context.Context, cfg config.Config, log *slog.Logger, tr *tracing.Tracing) (client.Client, error) {
	c, err := client.DialContext(ctx, client.Options{
		// The SDK's tracing interceptor when tracing is on: the client's
		// starts and signals and the workers' workflows and activities
		// join the caller's trace.
		Interceptors: tr.ClientInterceptors(),
		HostPort:     cfg.Temporal.Address,
		Namespace:    cfg.Temporal.Namespace,
		Logger:       sdklog.NewStructuredLogger(log.With("component", "temporal")),
		// The SDK's own metrics (requests, polls, task latencies, cache
		// size) land in the process's /metrics beside Relance's.
		MetricsHandler: metrics.TemporalHandler(),
	})
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w", cfg.Temporal.Address, err)
	}
	return c, nil
}

// startTracing sets up the process's traces (off unless an OTLP endpoint
// is configured); stop flushes them.
func startTracing(ctx context.Context, cfg config.Config, service string, log *slog.Logger) (tr *tracing.Tracing, stop func(), err error) {
	tr, err = tracing.New(ctx, cfg.Tracing, service)
	if err != nil {
		return nil, nil, err
	}
	if tr != nil {
		log.Info("exporting traces over OTLP", "endpoint", cmp.Or(cfg.Tracing.TracesEndpoint, cfg.Tracing.Endpoint))
	}
	return tr, func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tr.Shutdown(sctx); err != nil {
			log.Warn("flush traces", "error", err)
		}
	}, nil
}

func portalLinks(cfg config.Config) portal.Links {
	return portal.Links{BaseURL: cfg.PublicURL, Secret: []byte(cfg.PortalSecret), TTL: cfg.PortalLinkTTL}
}

// newActivities wires the real channel clients from the configuration.
func newActivities(cfg config.Config, gdb *gorm.DB, log *slog.Logger) (*activities.Activities, error) {
	ecfg := email.Config{
		Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, Username: cfg.SMTP.Username, Password: cfg.SMTP.Password,
		TLS: cfg.SMTP.TLS, Timeout: cfg.SMTP.Timeout, ReturnPath: cfg.SMTP.ReturnPath,
	}
	if cfg.SMTP.RatePerSecond > 0 {
		// The same shared limiter as the SMS rate, on its own row.
		sqlDB, err := gdb.DB()
		if err != nil {
			return nil, fmt.Errorf("configure the email rate limit: %w", err)
		}
		ecfg.Limiter = sms.NewSQLLimiter(sqlDB, string(db.Of(gdb)), "smtp", cfg.SMTP.RatePerSecond)
	}
	mail, err := email.New(ecfg)
	if err != nil {
		return nil, fmt.Errorf("configure SMTP: %w", err)
	}
	// The SMS rate holds across every worker through the shared database
	// (the task queue's own limit lets bursts through; see sms.SQLLimiter).
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, fmt.Errorf("configure SMS rate limit: %w", err)
	}
	smsLimiter := sms.NewSQLLimiter(sqlDB, string(db.Of(gdb)), "vonage", cfg.Vonage.RatePerSecond)
	var letters channels.LetterSender = letter.FolderProvider{Dir: cfg.Letters.Dir}
	if cfg.Letters.Provider == "http" {
		letters = &letter.HTTPProvider{BaseURL: cfg.Letters.APIURL, APIKey: cfg.Letters.APIKey}
	}
	return &activities.Activities{
		DB:    gdb,
		Email: mail,
		SMS: sms.New(sms.Config{
			BaseURL: cfg.Vonage.BaseURL, APIKey: cfg.Vonage.APIKey, APISecret: cfg.Vonage.APISecret,
			From: cfg.Vonage.From, RatePerSecond: cfg.Vonage.RatePerSecond, Timeout: cfg.Vonage.Timeout, Limiter: smsLimiter,
		}),
		Letters:      letters,
		Portal:       portalLinks(cfg),
		Day:          cfg.Day,
		BundleWindow: cfg.BundleWindow,
		DefaultFrom:  cfg.SMTP.From,
		Logger:       log.With("component", "activities"),
	}, nil
}

// workerOptions are the worker's bounds from the configuration.
func workerOptions(cfg config.Config, log *slog.Logger) worker.Options {
	conns := cfg.DBMaxConns
	if d, _, err := db.DialectOf(cfg.DatabaseURL); err == nil && d == db.SQLite {
		conns = 0 // one serialised connection: nothing to size against
	}
	return worker.Options{
		SMSPerSecond:       float64(cfg.Vonage.RatePerSecond),
		MaxCachedWorkflows: cfg.Worker.StickyCacheSize,
		MaxActivities:      cfg.Worker.MaxActivities,
		MaxSMSActivities:   cfg.Worker.MaxSMSActivities,
		MaxWorkflowTasks:   cfg.Worker.MaxWorkflowTasks,
		WorkflowPollers:    cfg.Worker.WorkflowPollers,
		ActivityPollers:    cfg.Worker.ActivityPollers,
		DBMaxConns:         conns,
		ReconcileEvery:     cfg.ReconcileEvery,
		Logger:             log.With("component", "worker"),
	}
}

func runMigrate(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	gdb, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close(gdb)
	if err := db.Migrate(gdb); err != nil {
		return err
	}
	log.Info("schema up to date", "versions", len(db.Versions()))
	return nil
}

func runWorker(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	c, release, err := connect(ctx, cfg, log, "relance-worker", false)
	if err != nil {
		return err
	}
	defer release()
	work, err := newWorker(cfg, log, c.db, c.temporal)
	if err != nil {
		return err
	}
	log.Info("worker started", "temporal", cfg.Temporal.Address, "namespace", cfg.Temporal.Namespace)
	p := startParts(ctx)
	p.Go("worker", work)
	if cfg.WorkerListen != "" {
		hcfg := cfg
		hcfg.Listen = cfg.WorkerListen
		health := workerHealth(newService(cfg, log, c.db, c.temporal))
		p.Go("worker health server", func(ctx context.Context) error { return serveHTTP(ctx, hcfg, log, health) })
	}
	return p.Wait()
}

func runAPI(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	c, release, err := connect(ctx, cfg, log, "relance-api", false)
	if err != nil {
		return err
	}
	defer release()
	return serveHTTP(ctx, cfg, log, c.tracing.Handler(api.NewRouter(apiDeps(cfg, log, c.db, c.temporal))))
}

// serveHTTP serves h on cfg.Listen until ctx ends, then drains for 10 s.
func serveHTTP(ctx context.Context, cfg config.Config, log *slog.Logger, h http.Handler) error {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute, WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("HTTP server listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("HTTP server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down HTTP server: %w", err)
	}
	return nil
}

const apikeyUsage = "usage: relance apikey create --organization ID [--name NAME] [--read-only]"

// runAPIKey creates another API key of an existing organization (the first
// comes with `relance org create`); the secret is printed this once.
func runAPIKey(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, out io.Writer) error {
	var org int64
	var name string
	var readOnly bool
	if err := subcommand(args, "apikey", "create", apikeyUsage, func(fs *flag.FlagSet) {
		fs.Int64Var(&org, "organization", 0, "organization ID")
		fs.StringVar(&name, "name", "cli", "a name to recognise the key by")
		fs.BoolVar(&readOnly, "read-only", false, "the key may read but not change anything")
	}); err != nil {
		return err
	}
	if org <= 0 {
		return errors.New("--organization is required\n" + apikeyUsage)
	}
	gdb, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close(gdb)
	_, plain, err := app.New(app.Options{DB: gdb, Logger: log}).CreateAPIKey(ctx, org, name, readOnly)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, plain)
	return err
}

// apiDeps wires the API over the application service and the provider-event
// recorder, both on the same database and Temporal client.
func apiDeps(cfg config.Config, log *slog.Logger, gdb *gorm.DB, tc client.Client) api.Deps {
	return api.Deps{
		App:     newService(cfg, log, gdb, tc),
		Inbound: inbound.NewRecorder(gdb, nil),
		Config:  cfg, Logger: log, Portal: portalLinks(cfg),
		PortalLimits: api.PortalLimits{RequestsPerMinute: cfg.PortalRequestsPerMinute, PostsPerMinute: cfg.PortalPostsPerMinute},
	}
}
