package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/relance/relance/api"
	"github.com/relance/relance/app"
	"github.com/relance/relance/config"
	"github.com/relance/relance/inbound"
	"github.com/relance/relance/internal/testkit"
)

// TestOpenAPIDescribesEveryRoute: the document is valid OpenAPI 3, every
// /api/v1 and /webhooks route the router serves is in it with its method, and it lists no
// route the router does not serve.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	raw, err := api.OpenAPI()
	require.NoError(t, err)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))

	gdb := testkit.SQLite(t)
	router := api.NewRouter(api.Deps{App: app.New(app.Options{DB: gdb}), Inbound: inbound.NewRecorder(gdb, nil), Config: config.Config{MaxBodyBytes: 1024}})
	param := regexp.MustCompile(`:([A-Za-z_]+)`)
	served := map[string]bool{}
	for _, r := range router.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") && !strings.HasPrefix(r.Path, "/webhooks/") {
			continue
		}
		served[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	var missing, extra []string
	for k := range served {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	require.Empty(t, missing, "routes missing from the OpenAPI document")
	require.Empty(t, extra, "documented routes the router does not serve")

	// The document is served without authentication.
	rec := httptest.NewRecorder()
	router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.JSONEq(t, string(raw), rec.Body.String())
}
