package testkit

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/deploy/prodlocal"
)

// ModuleRoot is the folder holding go.mod, found from the working folder.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "module root not found")
		dir = parent
	}
}

// RelanceBinary builds ./cmd/relance into a temporary folder.
func RelanceBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "relance")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/relance")
	cmd.Dir = ModuleRoot(t)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build ./cmd/relance:\n%s", out)
	return bin
}

// temporalServerBins finds bin/temporal-server and bin/temporal-sql-tool
// (RELANCE_TEMPORAL_SERVER and RELANCE_TEMPORAL_SQL_TOOL, set by the
// Makefile, or bin/ at the module root), building them with `make
// temporal-server` when they are missing, so that a test run from a fresh
// clone needs nothing installed first.
func temporalServerBins(t testing.TB) (server, sqlTool string) {
	t.Helper()
	root := ModuleRoot(t)
	server, sqlTool = os.Getenv("RELANCE_TEMPORAL_SERVER"), os.Getenv("RELANCE_TEMPORAL_SQL_TOOL")
	if server == "" {
		server = filepath.Join(root, "bin", "temporal-server")
	}
	if sqlTool == "" {
		sqlTool = filepath.Join(root, "bin", "temporal-sql-tool")
	}
	_, errServer := os.Stat(server)
	_, errTool := os.Stat(sqlTool)
	if errServer != nil || errTool != nil {
		t.Logf("building the Temporal server and its SQL tool (make temporal-server; minutes the first time)")
		cmd := exec.Command("make", "--no-print-directory", "TEMPORAL_SERVER="+server, "TEMPORAL_SQL_TOOL="+sqlTool, "temporal-server")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "make temporal-server:\n%s", out)
	}
	return server, sqlTool
}

// TemporalServer starts the real Temporal server (all services in one
// process) on two fresh databases on the PostgreSQL server of PostgresURL,
// on free loopback ports, and registers namespace and Relance's search
// attributes with `relance temporal setup` (relanceBin). The server is
// stopped and its databases dropped when the test ends; the test may kill
// and start it again (its databases and ports stay).
func TemporalServer(t testing.TB, relanceBin, namespace string) *prodlocal.Temporal {
	t.Helper()
	return TemporalServerSized(t, relanceBin, namespace, 10)
}

// TemporalServerSized is TemporalServer with a history store pool of
// maxConns connections (TemporalServer's 10 suit a few journeys beside
// other tests; a benchmark loading the server needs more).
func TemporalServerSized(t testing.TB, relanceBin, namespace string, maxConns int) *prodlocal.Temporal {
	t.Helper()
	serverBin, toolBin := temporalServerBins(t)
	pg, err := prodlocal.ParsePostgres(PostgresURL())
	require.NoError(t, err)
	ports, err := prodlocal.FreePorts(0)
	require.NoError(t, err)
	name := "relance_test_" + randomSuffix()
	srv := &prodlocal.Temporal{ServerBin: serverBin, SQLToolBin: toolBin, PG: pg, DB: name + "_temporal", VisibilityDB: name + "_visibility",
		Dir: t.TempDir(), Shards: 4, MaxConns: maxConns, Ports: ports, LogLevel: "warn"}
	t.Cleanup(func() {
		srv.Stop()
		if t.Failed() {
			t.Logf("--- Temporal server log (tail) ---\n%s", prodlocal.Tail(srv.LogPath(), 8000))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := srv.DropDatabases(ctx); err != nil {
			t.Logf("drop the Temporal databases: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	require.NoError(t, srv.SetupDatabases(ctx))
	require.NoError(t, srv.Start(ctx))
	cmd := exec.CommandContext(ctx, relanceBin, "temporal", "setup", "--retention", "24h")
	cmd.Env = append(os.Environ(), "TEMPORAL_ADDRESS="+srv.Address(), "TEMPORAL_NAMESPACE="+namespace, "DATABASE_URL=sqlite://"+filepath.Join(t.TempDir(), "unused.db"))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "relance temporal setup:\n%s", out)
	// Every service loads the search attributes just registered.
	require.NoError(t, srv.Restart(ctx))
	return srv
}
