// Package metrics is Relance's Prometheus instrumentation: one registry per
// process, the named recorders other packages call (MessageSent,
// StepSkipped, JourneyStarted, …), the HTTP handler serving /metrics, and
// the adapter through which the Temporal SDK reports its own metrics
// (TemporalHandler). Names are constants here so the dashboard
// (deploy/grafana/relance.json) and its test can refer to them.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Names of Relance's own metric families (as exposed, suffixes included).
const (
	NameMessages       = "relance_messages_total"
	NameUncertainSends = "relance_uncertain_sends_total"
	NameSkips          = "relance_step_skips_total"
	NameImportRows     = "relance_import_rows_total"
	NameLimiterWait    = "relance_rate_limiter_wait_seconds"
	NameJourneyStarts  = "relance_journey_starts_total"
	NameJourneySignals = "relance_journey_signals_total"
	NameJourneyFlags   = "relance_journey_problems_total"
	NameHTTPDuration   = "relance_http_request_duration_seconds"
	NameBundles        = "relance_bundles_total"
	NameBundleItems    = "relance_bundle_items"
	NameBundleAnswers  = "relance_bundle_answers_total"
)

var (
	registry = prometheus.NewRegistry()

	messages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameMessages,
		Help: "Messages handled by the send activity, by channel (email, post, sms) and outcome (sent, failed, uncertain, queued for retry, skipped).",
	}, []string{"channel", "outcome"})
	uncertain = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameUncertainSends,
		Help: "Sends whose provider may have the message but whose answer was lost (or whose worker died mid-send): recorded uncertain, never sent again.",
	}, []string{"channel"})
	skips = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameSkips,
		Help: "Steps or channels skipped, by reason (no_channel, invoice_closed, imported_late, …).",
	}, []string{"reason"})
	importRows = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameImportRows,
		Help: "Rows read by imports, by outcome (created, updated, unchanged, skipped, rejected).",
	}, []string{"outcome"})
	limiterWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    NameLimiterWait,
		Help:    "Time a send waited for a provider's rate limit (sms, email).",
		Buckets: []float64{0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
	}, []string{"limiter"})
	journeyStarts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameJourneyStarts,
		Help: "Journey starts asked of Temporal, by result (started, duplicate, error).",
	}, []string{"result"})
	journeySignals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameJourneySignals,
		Help: "Signals and Updates (pause, resume, dispute) sent to running journeys, by name and result (ok, not_running, refused, error).",
	}, []string{"signal", "result"})
	journeyFlags = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameJourneyFlags,
		Help: "Problems a journey raised on its invoice for an admin's attention, by reason (plan_failed, …): planning that keeps failing is retried, never given up, and counted here.",
	}, []string{"reason"})
	httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    NameHTTPDuration,
		Help:    "HTTP requests by method, route template and status class, with their duration.",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
	}, []string{"method", "route", "code"})
	bundles = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameBundles,
		Help: "Customers' bundles that sent their messages (one per channel for all the bundled invoices), by the bundle's step kind (reminder, final_reminder, sms).",
	}, []string{"kind"})
	bundleItems = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    NameBundleItems,
		Help:    "Invoice steps carried by one bundle's messages.",
		Buckets: []float64{1, 2, 3, 5, 10, 20, 50, 100, 500},
	})
	bundleAnswers = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameBundleAnswers,
		Help: "Steps a bundle answered without sending them, by reason (invoice_closed, requeued, customer_min_gap, below_minimum_amount).",
	}, []string{"reason"})
)

func init() {
	registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		messages, uncertain, skips, importRows, limiterWait, journeyStarts, journeySignals, journeyFlags, httpDuration,
		bundles, bundleItems, bundleAnswers,
		sdk,
	)
	// Zero series for every channel, so that an alert on an increase of
	// uncertain sends has a series to watch before the first one happens.
	for _, ch := range []string{"email", "post", "sms"} {
		uncertain.WithLabelValues(ch)
	}
}

// Handler serves the process's metrics in the Prometheus text format.
func Handler() http.Handler {
	return promhttp.HandlerFor(registry, promhttp.HandlerOpts{Registry: registry})
}

// Registry is the process's registry, for tests and extra collectors.
func Registry() *prometheus.Registry { return registry }

// MessageSent counts one message handled on channel with its outcome (a
// message state: sent, failed, uncertain, queued, skipped).
func MessageSent(channel, outcome string) {
	messages.WithLabelValues(channel, outcome).Inc()
	if outcome == "uncertain" {
		uncertain.WithLabelValues(channel).Inc()
	}
}

// StepSkipped counts a step (or one channel of it) skipped for reason.
func StepSkipped(reason string) { skips.WithLabelValues(reason).Inc() }

// ImportRows adds n rows of an import with outcome.
func ImportRows(outcome string, n int) {
	if n > 0 {
		importRows.WithLabelValues(outcome).Add(float64(n))
	}
}

// LimiterWaited records how long a send waited for limiter (sms, email).
func LimiterWaited(limiter string, d time.Duration) {
	limiterWait.WithLabelValues(limiter).Observe(d.Seconds())
}

// Journey start results.
const (
	StartStarted   = "started"
	StartDuplicate = "duplicate"
	StartError     = "error"
)

// JourneyFlagged counts a problem a journey raised on its invoice, by reason.
func JourneyFlagged(reason string) { journeyFlags.WithLabelValues(reason).Inc() }

// JourneyStarted counts a journey start asked of Temporal, by result.
func JourneyStarted(result string) { journeyStarts.WithLabelValues(result).Inc() }

// Signal results.
const (
	SignalOK         = "ok"
	SignalNotRunning = "not_running"
	SignalError      = "error"
	// SignalRefused is an Update (pause, resume, dispute) the journey's
	// validator refused before anything changed.
	SignalRefused = "refused"
)

// JourneySignaled counts one signal sent to a journey with its result.
func JourneySignaled(signal, result string) { journeySignals.WithLabelValues(signal, result).Inc() }

// BundleSent counts one bundle whose messages went out, of step kind
// kind, carrying items invoice steps.
func BundleSent(kind string, items int) {
	bundles.WithLabelValues(kind).Inc()
	bundleItems.Observe(float64(items))
}

// BundleAnswered counts a step a bundle answered without sending it.
func BundleAnswered(reason string) { bundleAnswers.WithLabelValues(reason).Inc() }

// HTTPRequest records one HTTP request: route is the route template
// (/api/v1/invoices/:id), never the raw path, so the series stay few.
func HTTPRequest(method, route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	httpDuration.WithLabelValues(method, route, statusClass(status)).Observe(d.Seconds())
}

func statusClass(status int) string {
	switch {
	case status >= 500:
		return "5xx"
	case status >= 400:
		return "4xx"
	case status >= 300:
		return "3xx"
	default:
		return "2xx"
	}
}
