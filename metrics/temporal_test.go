package metrics

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTemporalHandler: the SDK's counters, gauges and timers reach the
// registry as NAME_total, NAME and NAME_seconds histograms, one family per
// name even when the SDK tags a name with different tag sets (a family
// takes the union of the tag keys), and the registry gathers without error.
func TestTemporalHandler(t *testing.T) {
	// The registry is the process's: names and labels unique to this run
	// keep -count=N runs apart.
	run := fmt.Sprint(runs.Add(1))
	h := TemporalHandler().WithTags(map[string]string{"namespace": "default"})
	h.Counter("temporal_test_request" + run).Inc(2)
	h.WithTags(map[string]string{"operation": "Poll"}).Counter("temporal_test_request" + run).Inc(3)
	h.Counter("temporal_test_request" + run).Inc(-1) // ignored: counters only grow
	h.Gauge("temporal_test_cache_size" + run).Update(42)
	tm := h.WithTags(map[string]string{"task_queue": "relance"}).Timer("temporal_test_latency" + run)
	tm.Record(3 * time.Millisecond)
	tm.Record(2 * time.Second)

	_, err := Registry().Gather()
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, line := range []string{
		`temporal_test_request` + run + `_total{namespace="default",operation=""} 2`,
		`temporal_test_request` + run + `_total{namespace="default",operation="Poll"} 3`,
		`temporal_test_cache_size` + run + `{namespace="default"} 42`,
		`temporal_test_latency` + run + `_seconds_bucket{namespace="default",task_queue="relance",le="0.005"} 1`,
		`temporal_test_latency` + run + `_seconds_bucket{namespace="default",task_queue="relance",le="2.5"} 2`,
		`temporal_test_latency` + run + `_seconds_count{namespace="default",task_queue="relance"} 2`,
	} {
		require.Contains(t, body, line)
	}
	require.False(t, strings.Contains(body, "temporal_temporal_"), "the prefix is not doubled")
}

// TestRelanceRecorders: the named recorders land in their families, by label.
func TestRelanceRecorders(t *testing.T) {
	run := fmt.Sprint(runs.Add(1))
	MessageSent("email"+run, "uncertain")
	StepSkipped("no_channel" + run)
	ImportRows("rejected"+run, 2)
	ImportRows("invoice_created"+run, 0) // nothing to add: no series
	JourneyStarted(StartDuplicate)
	JourneySignaled("pause"+run, SignalNotRunning)
	HTTPRequest("GET"+run, "", 404, time.Millisecond)
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, line := range []string{
		`relance_messages_total{channel="email` + run + `",outcome="uncertain"} 1`,
		`relance_uncertain_sends_total{channel="email` + run + `"} 1`,
		`relance_uncertain_sends_total{channel="sms"} 0`,
		`relance_step_skips_total{reason="no_channel` + run + `"} 1`,
		`relance_import_rows_total{outcome="rejected` + run + `"} 2`,
		`relance_journey_starts_total{result="duplicate"}`,
		`relance_journey_signals_total{result="not_running",signal="pause` + run + `"} 1`,
		`relance_http_request_duration_seconds_count{code="4xx",method="GET` + run + `",route="unmatched"} 1`,
	} {
		require.Contains(t, body, line)
	}
	require.NotContains(t, body, `outcome="invoice_created`+run+`"`)
}

var runs atomic.Int64
