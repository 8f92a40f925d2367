// Package prodlocal runs Relance's production topology on one machine,
// without Docker: the real Temporal server (go.temporal.io/server, built
// from the Go module proxy into bin/) on the local PostgreSQL, its two
// databases created and migrated by its SQL tool, then `relance migrate`,
// `relance api` and `relance worker` processes. `make prod-local` runs it
// (cmd/prodlocal); the prod-local end-to-end and fault tests (e2e) start
// the same server and processes, and kill them.
package prodlocal

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"text/template"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

//go:embed temporal.yaml.tmpl
var configTemplate string

//go:embed dynamicconfig.yaml
var dynamicConfig []byte

// Postgres is the PostgreSQL server the Temporal databases live on, from a
// postgres:// URL.
type Postgres struct {
	Host, User, Password string
	Port                 int
	// Query is the URL's query (sslmode and the like), kept for the URLs
	// of the databases.
	Query string
}

// ParsePostgres reads a postgres:// URL (the database in its path is
// ignored: the databases are named by the caller).
func ParsePostgres(raw string) (Postgres, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return Postgres{}, fmt.Errorf("not a postgres:// URL: %q", raw)
	}
	p := Postgres{Host: u.Hostname(), Port: 5432, User: u.User.Username(), Query: u.RawQuery}
	p.Password, _ = u.User.Password()
	if s := u.Port(); s != "" {
		if p.Port, err = strconv.Atoi(s); err != nil {
			return Postgres{}, fmt.Errorf("port of %q: %w", raw, err)
		}
	}
	if p.Host == "" {
		p.Host = "127.0.0.1"
	}
	if p.User == "" {
		p.User = "postgres"
	}
	return p, nil
}

// Addr is host:port.
func (p Postgres) Addr() string { return net.JoinHostPort(p.Host, strconv.Itoa(p.Port)) }

// URL is the postgres:// URL of database name on this server.
func (p Postgres) URL(name string) string {
	u := url.URL{Scheme: "postgres", Host: p.Addr(), Path: "/" + name, RawQuery: p.Query}
	if p.Password != "" {
		u.User = url.UserPassword(p.User, p.Password)
	} else {
		u.User = url.User(p.User)
	}
	return u.String()
}

// Exec runs statements on the server's postgres database (CREATE and DROP
// DATABASE cannot run inside another database's transaction).
func (p Postgres) Exec(ctx context.Context, sql ...string) error {
	conn, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL at %s: %w", p.Addr(), err)
	}
	defer conn.Close(context.Background())
	for _, s := range sql {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// QueryInt runs a query returning one integer on database name.
func (p Postgres) QueryInt(ctx context.Context, name, sql string) (int64, error) {
	conn, err := pgx.Connect(ctx, p.URL(name))
	if err != nil {
		return 0, fmt.Errorf("connect to %s: %w", name, err)
	}
	defer conn.Close(context.Background())
	var v int64
	if err := conn.QueryRow(ctx, sql).Scan(&v); err != nil {
		return 0, fmt.Errorf("%s: %w", sql, err)
	}
	return v, nil
}

// Exists reports whether database name exists.
func (p Postgres) Exists(ctx context.Context, name string) (bool, error) {
	conn, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		return false, fmt.Errorf("connect to PostgreSQL at %s: %w", p.Addr(), err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		return false, fmt.Errorf("look up database %s: %w", name, err)
	}
	return n > 0, nil
}

// Ports are the Temporal server's listening ports, all on 127.0.0.1.
type Ports struct {
	Frontend, FrontendHTTP, FrontendMembership int
	History, HistoryMembership                 int
	Matching, MatchingMembership               int
	Worker, WorkerMembership                   int
	Metrics                                    int
}

// FreePorts picks ports nobody listens on now; base, when positive, gives
// fixed ports from base on instead (base is the frontend's gRPC port).
// Picked ports lie in [20000, 32768): the server stores its membership
// ports in a smallint column, which the kernel's ephemeral ports (32768 and
// up) overflow.
func FreePorts(base int) (Ports, error) {
	ports := make([]int, 10)
	for i := range ports {
		if base > 0 {
			ports[i] = base + i
			continue
		}
		var ln net.Listener
		var err error
		for range 100 {
			ln, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(20000+rand.IntN(32768-20000))))
			if err == nil {
				break
			}
		}
		if err != nil {
			return Ports{}, fmt.Errorf("pick a free port: %w", err)
		}
		ports[i] = ln.Addr().(*net.TCPAddr).Port
		defer ln.Close() // held until all are picked, so none repeats
	}
	return Ports{Frontend: ports[0], FrontendHTTP: ports[1], FrontendMembership: ports[2], History: ports[3], HistoryMembership: ports[4],
		Matching: ports[5], MatchingMembership: ports[6], Worker: ports[7], WorkerMembership: ports[8], Metrics: ports[9]}, nil
}

// Temporal is one real Temporal server process (all four services) on
// PostgreSQL.
type Temporal struct {
	// ServerBin and SQLToolBin are bin/temporal-server and
	// bin/temporal-sql-tool (`make temporal-server`).
	ServerBin, SQLToolBin string
	PG                    Postgres
	// DB and VisibilityDB are the names of its two databases.
	DB, VisibilityDB string
	// Dir holds the written configuration and the server's log.
	Dir string
	// Shards is numHistoryShards; fixed when the databases are created.
	Shards int
	// MaxConns is the history store's connection pool (20 when zero);
	// visibility gets a fifth of it.
	MaxConns int
	Ports    Ports
	LogLevel string

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Address is the frontend's host:port, for clients and workers.
func (t *Temporal) Address() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(t.Ports.Frontend))
}

// MetricsURL is the server's Prometheus endpoint.
func (t *Temporal) MetricsURL() string {
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(t.Ports.Metrics)) + "/metrics"
}

// LogPath is the server's log file.
func (t *Temporal) LogPath() string { return filepath.Join(t.Dir, "temporal-server.log") }

// SetupDatabases creates the two databases when they do not exist
// (create-database, then the versioning tables) and brings both schemas up
// to date from the SQL tool's embedded postgresql/v12 schemas. Running it
// again changes nothing.
func (t *Temporal) SetupDatabases(ctx context.Context) error {
	for _, d := range []struct{ name, schema string }{{t.DB, "postgresql/v12/temporal"}, {t.VisibilityDB, "postgresql/v12/visibility"}} {
		exists, err := t.PG.Exists(ctx, d.name)
		if err != nil {
			return err
		}
		if !exists {
			if err := t.sqlTool(ctx, d.name, "create-database"); err != nil {
				return err
			}
			if err := t.sqlTool(ctx, d.name, "setup-schema", "-v", "0.0"); err != nil {
				return err
			}
		}
		if err := t.sqlTool(ctx, d.name, "update-schema", "--schema-name", d.schema); err != nil {
			return err
		}
	}
	return nil
}

// DropDatabases drops the two databases (the server must be stopped).
func (t *Temporal) DropDatabases(ctx context.Context) error {
	return t.PG.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{t.DB}.Sanitize()+" WITH (FORCE)",
		"DROP DATABASE IF EXISTS "+pgx.Identifier{t.VisibilityDB}.Sanitize()+" WITH (FORCE)")
}

func (t *Temporal) sqlTool(ctx context.Context, database string, args ...string) error {
	base := []string{"--plugin", "postgres12", "--endpoint", t.PG.Host, "--port", strconv.Itoa(t.PG.Port),
		"--user", t.PG.User, "--password", t.PG.Password, "--database", database}
	cmd := exec.CommandContext(ctx, t.SQLToolBin, append(base, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("temporal-sql-tool %s on %s: %w\n%s", args[0], database, err, out)
	}
	return nil
}

// WriteConfig writes the server's configuration and dynamic configuration
// into Dir from the template, and returns the configuration's path.
func (t *Temporal) WriteConfig() (string, error) {
	if err := os.MkdirAll(t.Dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", t.Dir, err)
	}
	dyn := filepath.Join(t.Dir, "dynamicconfig.yaml")
	if err := os.WriteFile(dyn, dynamicConfig, 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", dyn, err)
	}
	tmpl, err := template.New("temporal").Option("missingkey=error").Parse(configTemplate)
	if err != nil {
		return "", fmt.Errorf("parse the configuration template: %w", err)
	}
	if t.Shards <= 0 {
		t.Shards = 4
	}
	if t.MaxConns <= 0 {
		t.MaxConns = 20
	}
	if t.LogLevel == "" {
		t.LogLevel = "warn"
	}
	var buf bytes.Buffer
	err = tmpl.Execute(&buf, map[string]any{
		"LogLevel": t.LogLevel, "Shards": t.Shards, "MaxConns": t.MaxConns, "VisibilityMaxConns": max(2, t.MaxConns/5), "DB": t.DB, "VisibilityDB": t.VisibilityDB,
		"PGAddr": t.PG.Addr(), "PGUser": t.PG.User, "PGPassword": t.PG.Password, "Ports": t.Ports, "DynamicConfig": dyn,
	})
	if err != nil {
		return "", fmt.Errorf("write the configuration: %w", err)
	}
	path := filepath.Join(t.Dir, "temporal.yaml")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}

// Start writes the configuration, starts the server (its output appended
// to LogPath) and waits until its frontend answers health checks, the
// process exits, or ctx ends.
func (t *Temporal) Start(ctx context.Context) error {
	if t.cmd != nil && !t.exited() {
		return errors.New("the Temporal server already runs")
	}
	cfgPath, err := t.WriteConfig()
	if err != nil {
		return err
	}
	logFile, err := os.OpenFile(t.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open the server log: %w", err)
	}
	cmd := exec.Command(t.ServerBin, "--config-file", cfgPath, "--allow-no-auth", "start")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("start %s: %w", t.ServerBin, err)
	}
	t.cmd, t.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		t.err = cmd.Wait()
		_ = logFile.Close()
		close(done)
	}(t.done)
	return t.waitHealthy(ctx)
}

func (t *Temporal) exited() bool {
	select {
	case <-t.done:
		return true
	default:
		return false
	}
}

// waitHealthy polls the frontend's health check.
func (t *Temporal) waitHealthy(ctx context.Context) error {
	wait := 200 * time.Millisecond
	for {
		if t.exited() {
			return fmt.Errorf("the Temporal server exited at start (%v); its log: %s\n%s", t.err, t.LogPath(), Tail(t.LogPath(), 4000))
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := client.DialContext(cctx, client.Options{HostPort: t.Address(), Logger: quiet{}})
		if err == nil {
			_, err = c.CheckHealth(cctx, &client.CheckHealthRequest{})
			c.Close()
		}
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the Temporal server at %s did not become healthy: %w (last: %w)", t.Address(), ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// Kill SIGKILLs the server, as a crash or an OOM kill would, and waits
// until it is gone.
func (t *Temporal) Kill() error {
	if t.cmd == nil || t.exited() {
		return errors.New("the Temporal server does not run")
	}
	if err := t.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill the Temporal server: %w", err)
	}
	<-t.done
	return nil
}

// Stop asks the server to stop (SIGTERM) and kills it if it still runs
// after 20 s.
func (t *Temporal) Stop() {
	if t.cmd == nil || t.exited() {
		return
	}
	_ = t.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-t.done:
	case <-time.After(20 * time.Second):
		_ = t.cmd.Process.Kill()
		<-t.done
	}
}

// Restart stops the server and starts it again. After `relance temporal
// setup` has registered the search attributes, every service of the
// one-process server then loads them at start; without a restart each
// service's cache takes up to a minute to see them (the dynamic config
// system.forceSearchAttributesCacheRefreshOnRead would hide that, but it
// reads the namespace from the database under one lock on every search
// attribute lookup, and Temporal says it is not for production).
func (t *Temporal) Restart(ctx context.Context) error {
	t.Stop()
	return t.Start(ctx)
}

// Tail returns the last n bytes of a file, for error messages.
func Tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// quiet drops the SDK client's logs while the server starts (every failed
// dial would log a warning).
type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}

var _ sdklog.Logger = quiet{}
