package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/app"
	"github.com/relance/relance/config"
	"github.com/relance/relance/db"
	"github.com/relance/relance/metrics"
	"github.com/relance/relance/tracing"
	"github.com/relance/relance/worker"
)

// parts runs the long-lived parts of one process (the worker, an HTTP
// server) together: when one stops, for whatever reason, the others are
// stopped too, so the process never lives on half-working.
type parts struct {
	parent context.Context
	ctx    context.Context
	cancel context.CancelFunc
	errc   chan error
	n      int
}

func startParts(ctx context.Context) *parts {
	cctx, cancel := context.WithCancel(ctx)
	return &parts{parent: ctx, ctx: cctx, cancel: cancel, errc: make(chan error, 4)}
}

// Go starts a part. A part that returns before the process is asked to stop
// has failed, even without an error.
func (p *parts) Go(name string, run func(context.Context) error) {
	p.n++
	go func() {
		err := run(p.ctx)
		if err == nil && p.ctx.Err() == nil {
			err = fmt.Errorf("%s stopped", name)
		}
		p.errc <- err
	}()
}

// Wait returns when the first part stops, after stopping and awaiting the
// others: its error, or nil when the process was asked to stop.
func (p *parts) Wait() error {
	defer p.cancel()
	if p.n == 0 {
		return nil
	}
	err := <-p.errc
	p.cancel()
	for i := 1; i < p.n; i++ {
		if e := <-p.errc; err == nil {
			err = e
		}
	}
	if p.parent.Err() != nil {
		return nil
	}
	return err
}

// conns are a process's connections: the database, Temporal, and the
// tracing both are instrumented with (nil when tracing is off).
type conns struct {
	db       *gorm.DB
	temporal client.Client
	tracing  *tracing.Tracing
}

// connect opens the database (bringing its schema up to date first when
// migrate is set), starts tracing as service and dials Temporal; release
// closes all three, flushing the traces last.
func connect(ctx context.Context, cfg config.Config, log *slog.Logger, service string, migrate bool) (c conns, release func(), err error) {
	if c.db, err = openDB(ctx, cfg); err != nil {
		return c, nil, err
	}
	closers := []func(){func() { _ = db.Close(c.db) }}
	release = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	fail := func(err error) (conns, func(), error) { release(); return conns{}, nil, err }
	if migrate {
		if err := db.Migrate(c.db); err != nil {
			return fail(err)
		}
	}
	tr, stopTracing, err := startTracing(ctx, cfg, service, log)
	if err != nil {
		return fail(err)
	}
	c.tracing = tr
	closers = append(closers, stopTracing)
	if c.temporal, err = dialTemporal(ctx, cfg, log, tr); err != nil {
		return fail(err)
	}
	closers = append(closers, c.temporal.Close)
	return c, release, nil
}

// newService is the application service of a process.
func newService(cfg config.Config, log *slog.Logger, gdb *gorm.DB, tc client.Client) *app.Service {
	return app.New(app.Options{DB: gdb, Temporal: tc, Namespace: cfg.Temporal.Namespace, Logger: log, Portal: portalLinks(cfg)})
}

// newWorker builds a worker's activities, with the reconciler that starts
// journeys a failed start left behind, and returns the worker to run.
func newWorker(cfg config.Config, log *slog.Logger, gdb *gorm.DB, tc client.Client) (func(context.Context) error, error) {
	acts, err := newActivities(cfg, gdb, log)
	if err != nil {
		return nil, err
	}
	svc := newService(cfg, log.With("component", "reconciler"), gdb, tc)
	acts.Reconcile = func(ctx context.Context, limit int) (activities.ReconcileResult, error) {
		r, err := svc.ReconcileJourneys(ctx, limit)
		return activities.ReconcileResult(r), err
	}
	return func(ctx context.Context) error { return worker.Run(ctx, tc, acts, workerOptions(cfg, log)) }, nil
}

// workerHealth answers /healthz (the process lives), /readyz (the same
// checks as the API's: database, Temporal, search attributes), so an
// orchestrator can restart a stuck worker, and /metrics.
func workerHealth(svc *app.Service) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.Handle("GET /metrics", metrics.Handler())
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		ready := svc.Ready(ctx)
		body := readyBody{Status: "ok", Checks: ready.Checks}
		w.Header().Set("Content-Type", "application/json")
		if !ready.OK {
			body.Status = "unavailable"
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(body)
	})
	return mux
}

// readyBody is the answer of /readyz, as the API gives it.
type readyBody struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// subcommand reads a two-word command (relance org create ...): args[0]
// must be verb, and the rest, once define has declared the options on the
// flag set, holds options only. Any mistake answers usage.
func subcommand(args []string, name, verb, usage string, define func(fs *flag.FlagSet)) error {
	if len(args) == 0 || args[0] != verb {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet(name+" "+verb, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	define(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w\n%s", err, usage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q\n%s", fs.Arg(0), usage)
	}
	return nil
}
