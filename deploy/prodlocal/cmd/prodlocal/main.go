// Command prodlocal runs Relance's production topology on this machine
// (`make prod-local`): the real Temporal server on the local PostgreSQL, its
// databases created and migrated by temporal-sql-tool, the namespace and
// search attributes registered (`relance temporal setup`), the schema
// migrated (`relance migrate`), then `relance api` and two `relance worker`
// processes on PostgreSQL, sending to loopback SMTP and Vonage sinks.
// Ctrl-C stops everything.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relance/relance/deploy/prodlocal"
	"github.com/relance/relance/devsink"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "prod-local:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	fs := flag.NewFlagSet("prod-local", flag.ContinueOnError)
	bin := fs.String("bin", "bin", "folder holding temporal-server and temporal-sql-tool (make temporal-server)")
	dbURL := fs.String("database-url", defaultPostgres(), "the PostgreSQL server (its databases are named by --prefix)")
	prefix := fs.String("prefix", "relance", "database names: PREFIX (Relance), PREFIX_temporal and PREFIX_temporal_visibility")
	data := fs.String("data", ".data/prod-local", "folder for the configuration, logs, received mail and letters")
	temporalPort := fs.Int("temporal-port", 7433, "the Temporal frontend's gRPC port; the server's other nine ports follow it (0 picks free ports)")
	shards := fs.Int("shards", 4, "numHistoryShards of new Temporal databases (fixed once created)")
	listen := fs.String("listen", "127.0.0.1:8088", "address of `relance api`")
	smtpAddr := fs.String("smtp-sink", "127.0.0.1:2526", "address of the loopback SMTP sink")
	vonageAddr := fs.String("vonage-sink", "127.0.0.1:8089", "address of the loopback Vonage stand-in")
	workers := fs.Int("workers", 2, "number of `relance worker` processes")
	day := fs.Duration("day", 24*time.Hour, "length of a journey day (RELANCE_DAY)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if *workers < 1 || *day <= 0 {
		return errors.New("--workers must be at least 1 and --day positive")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	pg, err := prodlocal.ParsePostgres(*dbURL)
	if err != nil {
		return err
	}
	dataDir, err := filepath.Abs(*data)
	if err != nil {
		return err
	}
	logs := filepath.Join(dataDir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", logs, err)
	}
	ports, err := prodlocal.FreePorts(*temporalPort)
	if err != nil {
		return err
	}
	binDir, err := filepath.Abs(*bin)
	if err != nil {
		return err
	}
	tsrv := &prodlocal.Temporal{
		ServerBin: filepath.Join(binDir, "temporal-server"), SQLToolBin: filepath.Join(binDir, "temporal-sql-tool"),
		PG: pg, DB: *prefix + "_temporal", VisibilityDB: *prefix + "_temporal_visibility",
		Dir: filepath.Join(dataDir, "temporal"), Shards: *shards, Ports: ports, LogLevel: "warn",
	}

	log.Info("building relance")
	relance := filepath.Join(dataDir, "relance")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", relance, "./cmd/relance").CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/relance: %w\n%s", err, out)
	}

	log.Info("creating and migrating the Temporal databases", "databases", []string{tsrv.DB, tsrv.VisibilityDB})
	if err := tsrv.SetupDatabases(ctx); err != nil {
		return err
	}
	appDB := *prefix
	exists, err := pg.Exists(ctx, appDB)
	if err != nil {
		return err
	}
	if !exists {
		if err := pg.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{appDB}.Sanitize()); err != nil {
			return err
		}
	}

	log.Info("starting the Temporal server", "address", tsrv.Address(), "log", tsrv.LogPath())
	sctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	err = tsrv.Start(sctx)
	cancel()
	defer tsrv.Stop()
	if err != nil {
		return err
	}

	// The loopback sinks: what the workers send lands here (and on disk).
	mail := &devsink.SMTPSink{Dir: filepath.Join(dataDir, "mail"), Logger: log.With("component", "smtp-sink")}
	if err := mail.Start(*smtpAddr); err != nil {
		return err
	}
	defer mail.Close()
	publicURL := "http://" + *listen
	const sigSecret = "prod-local-signature-secret"
	vonage := &devsink.VonageSink{APIKey: "prod-local", APISecret: "prod-local-secret",
		CallbackURL: publicURL + "/webhooks/vonage/status", SignatureSecret: sigSecret, SignatureMethod: "md5hash",
		Logger: log.With("component", "vonage-sink")}
	defer vonage.Close()
	vln, err := net.Listen("tcp", *vonageAddr)
	if err != nil {
		return fmt.Errorf("listen for the Vonage stand-in on %s: %w", *vonageAddr, err)
	}
	vsrv := &http.Server{Handler: vonage, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = vsrv.Serve(vln) }()
	defer vsrv.Close()

	_, smtpPort, _ := net.SplitHostPort(mail.Addr())
	env := []string{
		"DATABASE_URL=" + pg.URL(appDB),
		"TEMPORAL_ADDRESS=" + tsrv.Address(),
		"TEMPORAL_NAMESPACE=relance",
		"RELANCE_DAY=" + day.String(),
		"RELANCE_LISTEN=" + *listen,
		"RELANCE_PUBLIC_URL=" + publicURL,
		"RELANCE_PORTAL_SECRET=prod-local-portal-secret",
		"SMTP_HOST=127.0.0.1", "SMTP_PORT=" + smtpPort, "SMTP_TLS=none", "SMTP_USERNAME=", "SMTP_PASSWORD=",
		"VONAGE_BASE_URL=http://" + vln.Addr().String(), "VONAGE_API_KEY=prod-local", "VONAGE_API_SECRET=prod-local-secret",
		"VONAGE_SIGNATURE_SECRET=" + sigSecret,
		"LETTERS_PROVIDER=folder", "LETTERS_DIR=" + filepath.Join(dataDir, "letters"),
	}
	for _, step := range [][]string{{"temporal", "setup"}, {"migrate"}} {
		log.Info("relance " + strings.Join(step, " "))
		cmd := exec.CommandContext(ctx, relance, step...)
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("relance %s: %w\n%s", strings.Join(step, " "), err, out)
		}
	}
	// Every service of the server loads the search attributes just
	// registered (tsrv.Restart says why).
	log.Info("restarting the Temporal server")
	rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	err = tsrv.Restart(rctx)
	cancel()
	if err != nil {
		return err
	}
	// The first run creates an organization (its key is shown once and
	// kept in the data folder); later runs find one and create none.
	orgs, err := pg.QueryInt(ctx, appDB, "SELECT count(*) FROM organizations")
	if err != nil {
		return err
	}
	key := ""
	if orgs == 0 {
		cmd := exec.CommandContext(ctx, relance, "org", "create", "--name", "Prod-local", "--key-name", "prod-local")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("relance org create: %w", err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(line, "api_key="); ok {
				key = v
			}
		}
		// Shown once: the key is stored hashed.
		if err := os.WriteFile(filepath.Join(dataDir, "api-key"), []byte(key+"\n"), 0o600); err != nil {
			return err
		}
	}

	var procs []*prodlocal.Process
	defer func() {
		// Workers first (a graceful stop lets the sends in flight
		// finish), then the API; the server stops last (deferred above).
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].Stop(30 * time.Second)
		}
	}()
	api, err := prodlocal.StartProcess("api", filepath.Join(logs, "api.log"), relance, env, "api")
	if err != nil {
		return err
	}
	procs = append(procs, api)
	for i := 1; i <= *workers; i++ {
		name := fmt.Sprintf("worker-%d", i)
		w, err := prodlocal.StartProcess(name, filepath.Join(logs, name+".log"), relance, append(env, "RELANCE_WORKER_LISTEN=127.0.0.1:0"), "worker")
		if err != nil {
			return err
		}
		procs = append(procs, w)
	}
	if err := waitReady(ctx, publicURL+"/readyz", api); err != nil {
		return err
	}
	if key == "" {
		if b, err := os.ReadFile(filepath.Join(dataDir, "api-key")); err == nil {
			key = strings.TrimSpace(string(b))
		}
	}
	fmt.Printf(`
Relance runs in its production topology (a journey day lasts %s)

  Temporal server  %s (namespace relance; databases %s, %s on %s; log %s)
  API              %s/api/v1   (ready: %s/readyz)
  Workers          %d processes (logs in %s)
  Database         %s
  Sinks            SMTP %s (mail in %s), Vonage stand-in http://%s

  API key          %s
  Try:  curl -H "Authorization: Bearer %s" %s/api/v1/administrations
  Ctrl-C stops everything.

`, *day, tsrv.Address(), tsrv.DB, tsrv.VisibilityDB, pg.Addr(), tsrv.LogPath(), publicURL, publicURL, *workers, logs, appDB,
		mail.Addr(), filepath.Join(dataDir, "mail"), vln.Addr(), key, key, publicURL)

	// Run until Ctrl-C, or until a process dies (a topology missing a part
	// is not left running as if it were whole).
	exited := make(chan *prodlocal.Process, len(procs))
	for _, p := range procs {
		go func() { <-p.Done(); exited <- p }()
	}
	select {
	case <-ctx.Done():
		log.Info("stopping: workers, API, sinks, Temporal server")
		return nil
	case p := <-exited:
		if ctx.Err() != nil {
			return nil // Ctrl-C in a terminal signals the children too
		}
		return fmt.Errorf("%s exited (%v); see %s", p.Name, p.Err(), p.Log)
	}
}

// waitReady waits until the API's /readyz answers 200.
func waitReady(ctx context.Context, url string, api *prodlocal.Process) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-api.Done():
			return fmt.Errorf("relance api exited (%v); see %s", api.Err(), api.Log)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer 200 within two minutes; see %s", url, api.Log)
		}
	}
}

func defaultPostgres() string {
	if u := os.Getenv("DATABASE_URL"); strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://") {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}
