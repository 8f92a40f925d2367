package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/api"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/workflows"
)

// TestMetricsAfterJourney: after a journey ran (with a pause and a resume:
// signals), skipped reminders, an SMS (the rate limiter) and an import, the API's /metrics
// exposes the Temporal SDK's metrics and Relance's, and every metric the
// Grafana dashboard (deploy/grafana/relance.json) queries is there.
func TestMetricsAfterJourney(t *testing.T) {
	const day = time.Second
	s := newStack(t, testkit.SQLite(t), day)
	today := time.Now().UTC()
	num := fmt.Sprintf("MET-%d", today.UnixNano())
	var v api.InvoiceView
	require.Equal(t, http.StatusCreated, s.call("POST", fmt.Sprintf("/api/v1/administrations/%d/invoices", s.adm.ID), map[string]any{
		"customer_id": s.cust.ID, "number": num, "issue_date": today.Format("2006-01-02"),
		"due_date": today.AddDate(0, 0, 14).Format("2006-01-02"), "amount_minor": 50000,
	}, &v))
	require.Eventually(t, func() bool {
		st := s.invoice(v.ID)
		return st.Journey != nil && st.Journey.Stage == workflows.StageInvoiced
	}, 30*time.Second, 100*time.Millisecond)
	// Reminders now have no channel (no email for reminders, no post):
	// they are skipped (no_channel); the SMS step still sends.
	require.Equal(t, http.StatusOK, s.call("PATCH", fmt.Sprintf("/api/v1/customers/%d/send-settings", s.cust.ID),
		map[string]any{"send_reminders_by_email": false, "send_by_post": false}, nil))
	require.Equal(t, http.StatusOK, s.call("POST", fmt.Sprintf("/api/v1/invoices/%d/pause", v.ID), map[string]any{"reason": "called us"}, nil))
	require.Equal(t, http.StatusOK, s.call("POST", fmt.Sprintf("/api/v1/invoices/%d/resume", v.ID), map[string]any{"reason": "no answer"}, nil))
	require.Eventually(t, func() bool { return len(s.vonage.Messages()) > 0 }, 3*time.Minute, 200*time.Millisecond, "the final reminder's SMS")

	// An import: one good row, one with a date that is not one.
	csv := "Factuurnummer;Debiteurnummer;Naam;Land;Taal;E-mail;Factuurdatum;Vervaldatum;Valuta;Bedrag;Openstaand\n" +
		"MI-1;MI-C1;Import Klant BV;NL;nl;klant@import.example;01-10-2025;15-10-2025;EUR;10,00;0\n" +
		"MI-2;MI-C2;Andere Klant BV;NL;nl;ander@import.example;not a date;15-10-2025;EUR;10,00;10,00\n"
	req, err := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/administrations/%d/imports", s.api.URL, s.adm.ID), strings.NewReader(csv))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "text/csv")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusCreated, res.StatusCode, string(body))

	exposed := scrape(t, s.api.URL+"/metrics")
	for _, name := range []string{
		"relance_messages_total", "relance_journey_starts_total", "relance_journey_signals_total",
		"relance_import_rows_total", "relance_step_skips_total", "relance_rate_limiter_wait_seconds_count", "relance_http_request_duration_seconds_bucket",
		"temporal_request_total", "temporal_workflow_task_execution_latency_seconds_bucket", "temporal_sticky_cache_size",
	} {
		require.True(t, exposed[name], "%s missing from /metrics", name)
	}
	queried := dashboardMetrics(t, "../deploy/grafana/relance.json")
	require.NotEmpty(t, queried)
	var missing []string
	for _, name := range queried {
		if !exposed[name] {
			missing = append(missing, name)
		}
	}
	require.Empty(t, missing, "metrics the dashboard queries that /metrics does not expose")
}

// scrape reads a Prometheus text exposition and returns the sample names.
func scrape(t *testing.T, url string) map[string]bool {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	names := map[string]bool{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	require.NoError(t, sc.Err())
	return names
}

var metricName = regexp.MustCompile(`\b((?:relance|temporal|process|go)_[a-z0-9_]+)\b`)

// dashboardMetrics lists every metric name a Grafana dashboard's queries use.
func dashboardMetrics(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var dash struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(data, &dash))
	set := map[string]bool{}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range metricName.FindAllStringSubmatch(tg.Expr, -1) {
				set[m[1]] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
