package testkit

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/relance/relance/workflows"
)

// TemporalCLI finds the pinned Temporal CLI: RELANCE_TEMPORAL_CLI (set by
// the Makefile) or bin/temporal at the module root.
func TemporalCLI(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("RELANCE_TEMPORAL_CLI"); p != "" {
		return p
	}
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "bin", "temporal")
			_, err := os.Stat(p)
			require.NoError(t, err, "the Temporal CLI is installed by `make test` (bin/temporal)")
			return p
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "module root not found")
		dir = parent
	}
}

// DevServer starts a real Temporal dev server (in memory, headless) with
// Relance's search attributes, and stops it when the test ends.
func DevServer(t testing.TB) (*testsuite.DevServer, client.Client) {
	t.Helper()
	srv, err := testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
		ExistingPath:     TemporalCLI(t),
		LogLevel:         "error",
		SearchAttributes: workflows.SearchAttributes(),
		ExtraArgs:        workflows.DevServerArgs(),
		ClientOptions:    &client.Options{Namespace: "default"},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	return srv, srv.Client()
}
