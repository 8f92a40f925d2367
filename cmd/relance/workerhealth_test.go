package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/metrics"
)

// TestWorkerServesMetrics: the worker's health server (RELANCE_WORKER_LISTEN)
// serves the process's Prometheus metrics beside its health checks.
func TestWorkerServesMetrics(t *testing.T) {
	metrics.StepSkipped("worker_health_test")
	rec := httptest.NewRecorder()
	workerHealth(testkit.SQLite(t), nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), `relance_step_skips_total{reason="worker_health_test"} 1`)
	require.Contains(t, rec.Body.String(), "process_resident_memory_bytes")
}
