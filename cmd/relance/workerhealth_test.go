package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/app"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/metrics"
)

// TestWorkerServesMetrics: the worker's health server (RELANCE_WORKER_LISTEN)
// serves the process's Prometheus metrics beside its health checks.
func TestWorkerServesMetrics(t *testing.T) {
	// A reason of this run's own: the counters live as long as the process (go test -count=N).
	reason := fmt.Sprintf("worker_health_test_%d", time.Now().UnixNano())
	metrics.StepSkipped(reason)
	rec := httptest.NewRecorder()
	workerHealth(app.New(app.Options{DB: testkit.SQLite(t)})).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), `relance_step_skips_total{reason="`+reason+`"} 1`)
	require.Contains(t, rec.Body.String(), "process_resident_memory_bytes")
}

// TestWorkerReadiness: the worker's /readyz makes the API's checks, so a
// worker without Temporal is not ready, and says which check failed.
func TestWorkerReadiness(t *testing.T) {
	h := workerHealth(app.New(app.Options{DB: testkit.SQLite(t)}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	var body readyBody
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	require.Equal(t, "unavailable", body.Status)
	require.Equal(t, "ok", body.Checks["database"])
	require.Equal(t, "not configured", body.Checks["temporal"])

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	require.Equal(t, http.StatusOK, rec.Code)
}
