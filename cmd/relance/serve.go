package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"gorm.io/gorm"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/api"
	"github.com/relance/relance/app"
	"github.com/relance/relance/auth"
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
	return portal.Links{BaseURL: cfg.PublicURL, Secret: []byte(cfg.PortalSecret)}
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
		Letters:     letters,
		Portal:      portalLinks(cfg),
		Day:         cfg.Day,
		DefaultFrom: cfg.SMTP.From,
		Logger:      log.With("component", "activities"),
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
	gdb, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close(gdb)
	tr, stopTracing, err := startTracing(ctx, cfg, "relance-worker", log)
	if err != nil {
		return err
	}
	defer stopTracing()
	tc, err := dialTemporal(ctx, cfg, log, tr)
	if err != nil {
		return err
	}
	defer tc.Close()
	acts, err := newActivities(cfg, gdb, log)
	if err != nil {
		return err
	}
	withReconciler(acts, gdb, tc, log)
	log.Info("worker started", "temporal", cfg.Temporal.Address, "namespace", cfg.Temporal.Namespace)
	if cfg.WorkerListen == "" {
		return worker.Run(ctx, tc, acts, workerOptions(cfg, log))
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	werr := make(chan error, 1)
	go func() {
		werr <- worker.Run(wctx, tc, acts, workerOptions(cfg, log))
	}()
	hcfg := cfg
	hcfg.Listen = cfg.WorkerListen
	herr := make(chan error, 1)
	go func() { herr <- serveHTTP(wctx, hcfg, log, workerHealth(gdb, tc)) }()
	select {
	case err = <-werr:
		cancel()
		<-herr
	case err = <-herr:
		cancel()
		if werr := <-werr; err == nil {
			err = werr
		}
	}
	return err
}

// workerHealth answers /healthz (the process lives) and /readyz (it reaches
// the database and Temporal), so an orchestrator can restart a stuck worker.
func workerHealth(gdb *gorm.DB, tc client.Client) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.Handle("GET /metrics", metrics.Handler())
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		sqlDB, err := gdb.DB()
		if err == nil {
			err = sqlDB.PingContext(ctx)
		}
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"unavailable","checks":{"database":"unavailable"}}`))
			return
		}
		if _, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"unavailable","checks":{"database":"ok","temporal":"unavailable"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":"ok","checks":{"database":"ok","temporal":"ok"}}`))
	})
	return mux
}

func runAPI(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	gdb, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close(gdb)
	tr, stopTracing, err := startTracing(ctx, cfg, "relance-api", log)
	if err != nil {
		return err
	}
	defer stopTracing()
	tc, err := dialTemporal(ctx, cfg, log, tr)
	if err != nil {
		return err
	}
	defer tc.Close()
	return serveHTTP(ctx, cfg, log, tr.Handler(api.NewRouter(apiDeps(cfg, log, gdb, tc))))
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

func runAPIKey(ctx context.Context, cfg config.Config, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: relance apikey create --organization ID [--name NAME]")
	}
	fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
	org := fs.Int64("organization", 0, "organization ID")
	name := fs.String("name", "cli", "a name to recognise the key by")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *org <= 0 {
		return errors.New("--organization is required")
	}
	gdb, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close(gdb)
	var n int64
	if err := gdb.WithContext(ctx).Table("organizations").Where("id = ?", *org).Count(&n).Error; err != nil {
		return fmt.Errorf("look up organization %d: %w", *org, err)
	}
	if n == 0 {
		return fmt.Errorf("organization %d does not exist", *org)
	}
	plain, _, err := auth.Create(ctx, gdb, *org, *name)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stdout, plain)
	return nil
}

// workerOptions are the worker's options from the configuration.
// withReconciler gives the activities the application service's
// reconciliation pass (ReconcileJourneys activity).
func withReconciler(acts *activities.Activities, gdb *gorm.DB, tc client.Client, log *slog.Logger) {
	svc := app.New(app.Options{DB: gdb, Temporal: tc, Logger: log.With("component", "reconciler")})
	acts.Reconcile = func(ctx context.Context, limit int) (activities.ReconcileResult, error) {
		r, err := svc.ReconcileJourneys(ctx, limit)
		return activities.ReconcileResult(r), err
	}
}

// apiDeps wires the API over the application service and the provider-event
// recorder, both on the same database and Temporal client.
func apiDeps(cfg config.Config, log *slog.Logger, gdb *gorm.DB, tc client.Client) api.Deps {
	return api.Deps{
		App:     app.New(app.Options{DB: gdb, Temporal: tc, Namespace: cfg.Temporal.Namespace, Logger: log, Portal: portalLinks(cfg)}),
		Inbound: inbound.NewRecorder(gdb, nil),
		Config:  cfg, Logger: log, Portal: portalLinks(cfg),
	}
}
