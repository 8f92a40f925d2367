package main

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/config"
	"github.com/relance/relance/importer"
)

// TestREADMEDocumentsConfiguration keeps the README's tables honest: every
// environment variable the configuration reads and every import column is
// documented.
func TestREADMEDocumentsConfiguration(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	readme := string(data)
	for _, name := range configEnvNames(reflect.TypeOf(config.Config{}), "") {
		require.Contains(t, readme, "`"+name+"`", "README.md: document %s in the configuration table", name)
	}
	for _, c := range importer.Columns() {
		require.Contains(t, readme, "| `"+c.Name+"` |", "README.md: document import column %s", c.Name)
	}
	for _, cmd := range []string{"relance migrate", "relance api", "relance worker", "relance import", "relance apikey create", "relance healthcheck", "relance org create", "relance temporal setup"} {
		require.True(t, strings.Contains(readme, cmd), "README.md: document %q", cmd)
	}
}
