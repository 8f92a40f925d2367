package bench

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"gorm.io/gorm"

	"github.com/relance/relance/deploy/prodlocal"
	"github.com/relance/relance/devsink"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/workflows"
)

var (
	bundleInvoices = flag.Int("bench.bundle.invoices", envInt("RELANCE_BENCH_BUNDLE_INVOICES", 10000),
		"invoices of BenchmarkBundleWindow, all due in one send window (RELANCE_BENCH_BUNDLE_INVOICES)")
	bundleCustomers = flag.Int("bench.bundle.customers", envInt("RELANCE_BENCH_BUNDLE_CUSTOMERS", 3000),
		"customers the invoices of BenchmarkBundleWindow are spread over (RELANCE_BENCH_BUNDLE_CUSTOMERS)")
	bundleDay = flag.Duration("bench.bundle.day", 0,
		"journey day of BenchmarkBundleWindow: the window falls due one day after the journeys start, so it should outlast their start and planning (default: 25 ms per invoice, at least 2 minutes)")
	bundleWindowFlag = flag.Duration("bench.bundle.window", 30*time.Second,
		"bundle window of the worker (RELANCE_BUNDLE_WINDOW; 0: the worker's default, a tenth of the journey day): at a scaled day a customer's steps are not spread to one instant as at 24h, they fall due when their journeys happened to start, so the window must cover that skew")
	bundleHistories = flag.Int("bench.bundle.histories", 200,
		"bundle workflows and journeys whose histories BenchmarkBundleWindow reads")
)

// bundleWindowEnv is the worker's setting of the bundle window.
const bundleWindowEnv = "RELANCE_BUNDLE_WINDOW"

// BenchmarkBundleWindow is one send window of a ledger whose customers have
// several invoices each: --bench.bundle.invoices (10,000) open invoices over
// --bench.bundle.customers (3,000) customers, all with one reminder due one
// journey day after their journey starts, on a dev server with one `relance
// worker` process in its default configuration (bundling on, the default)
// sending to a loopback SMTP server.
//
// It reports the bundling ratio (the invoice steps due beside the messages
// the SMTP server received: one email per customer), the history events of
// a customer's bundle workflow and of a journey's bundled step (read back
// from a sample of --bench.bundle.histories of each), and the time from the
// window's first due instant to its last message beside the bare
// StartWorkflow rate of the same server.
//
// Not run by make test (a benchmark); `make bench` runs it at full size. A
// smaller ledger: go test ./bench -run '^$' -bench BundleWindow -args
// -bench.bundle.invoices=1000 -bench.bundle.customers=300.
func BenchmarkBundleWindow(b *testing.B) {
	n, nc := *bundleInvoices, *bundleCustomers
	require.True(b, nc > 0 && nc <= n, "customers (%d) must be between 1 and the invoices (%d)", nc, n)
	day := *bundleDay
	if day <= 0 {
		day = max(2*time.Minute, time.Duration(n)*25*time.Millisecond)
	}
	bin := testkit.RelanceBinary(b)
	dev, _ := testkit.DevServer(b)
	tc, err := client.Dial(client.Options{HostPort: dev.FrontendHostPort(), Namespace: "default", Logger: sdklog.NewStructuredLogger(quiet())})
	require.NoError(b, err)
	b.Cleanup(tc.Close)
	gdb, dbURL := testkit.PostgresWithURL(b)

	const bareN = 2000
	bare := perSecond(bareN, bareStarts(b, tc, "bare", bareN))

	mail := &devsink.SMTPSink{Max: n + 1000}
	require.NoError(b, mail.Start("127.0.0.1:0"))
	b.Cleanup(func() { _ = mail.Close() })
	vonage := &devsink.VonageSink{APIKey: "k", APISecret: "s"}
	vsrv := httptest.NewServer(vonage)
	b.Cleanup(vsrv.Close)
	b.Cleanup(vonage.Close)
	_, smtpPort, _ := net.SplitHostPort(mail.Addr())
	health := freeAddr(b)
	env := []string{
		"DATABASE_URL=" + dbURL, "TEMPORAL_ADDRESS=" + dev.FrontendHostPort(), "TEMPORAL_NAMESPACE=default",
		"RELANCE_DAY=" + day.String(), "RELANCE_LOG_LEVEL=warn", "RELANCE_WORKER_LISTEN=" + health,
		"SMTP_HOST=127.0.0.1", "SMTP_PORT=" + smtpPort, "SMTP_TLS=none", "SMTP_USERNAME=", "SMTP_FROM=ar@bench.example",
		"VONAGE_BASE_URL=" + vsrv.URL, "VONAGE_API_KEY=k", "VONAGE_API_SECRET=s",
		"LETTERS_PROVIDER=folder", "LETTERS_DIR=" + b.TempDir(),
	}
	if *bundleWindowFlag > 0 {
		env = append(env, bundleWindowEnv+"="+bundleWindowFlag.String())
	}
	logPath := filepath.Join(b.TempDir(), "worker.log")
	wp, err := prodlocal.StartProcess("worker", logPath, bin, env, "worker")
	require.NoError(b, err)
	b.Cleanup(func() {
		wp.Stop(30 * time.Second)
		if b.Failed() {
			b.Logf("--- worker log (tail) ---\n%s", prodlocal.Tail(logPath, 8000))
		}
	})
	alive := func() {
		select {
		case <-wp.Done():
			b.Fatalf("the worker exited (%v):\n%s", wp.Err(), prodlocal.Tail(logPath, 4000))
		default:
		}
	}

	adm := newAdministration(b, gdb, "Bundles")
	require.Equal(b, models.BundlingOn, adm.Bundling, "bundling is on by default")
	j := models.Journey{AdministrationID: adm.ID, Name: "Bundles", MinGapDays: 1, Steps: []models.JourneyStep{
		{Position: 0, OffsetDays: 1, Kind: string(policy.StepReminder), Template: "default"}}}
	require.NoError(b, gdb.Create(&j).Error)
	require.NoError(b, gdb.Model(adm).Update("default_journey_id", j.ID).Error)
	// No customer gap: a step that misses its customer's bundle (its
	// journey started late) goes in a second bundle at once, counted as a
	// message, instead of a week of journey days later.
	require.NoError(b, gdb.Model(adm).Update("customer_min_gap_days", 0).Error)
	custs, invs := ledger(b, gdb, adm, n, nc)

	b.ResetTimer()
	// The journeys start in the order of their customers, so that one
	// customer's steps fall due within moments of each other, as they do at
	// the real day length (one instant per customer, schedule.Spread).
	starts := make([]time.Time, n)
	t0 := time.Now()
	took := parallel(b, n, func(ctx context.Context, i int) error {
		starts[i] = time.Now()
		return startOne(ctx, tc, adm, custs, &invs[i])
	})
	firstDue, lastDue := starts[0], starts[0]
	for _, s := range starts {
		firstDue, lastDue = minTime(firstDue, s), maxTime(lastDue, s)
	}
	firstDue, lastDue = firstDue.Add(day), lastDue.Add(day)
	for planned(b, health) < n {
		alive()
		time.Sleep(time.Second)
	}
	plannedIn := time.Since(t0)
	if time.Now().After(firstDue) {
		b.Logf("the journeys were not all planned when the window fell due (planning took %s, the journey day is %s): raise -bench.bundle.day",
			plannedIn.Round(time.Second), day)
	}

	// The window: wait until every step went out in its customer's bundle.
	deadline := lastDue.Add(time.Hour)
	for {
		alive()
		var sent int64
		require.NoError(b, gdb.Model(&models.BundleRequest{}).Where("administration_id = ? AND state = ?", adm.ID, models.BundleSent).Count(&sent).Error)
		if int(sent) >= n {
			break
		}
		require.True(b, time.Now().Before(deadline), "only %d of the window's %d steps went out", sent, n)
		time.Sleep(250 * time.Millisecond)
	}
	b.StopTimer()
	msgs := mail.Messages()
	var lastMsg time.Time
	for _, m := range msgs {
		lastMsg = maxTime(lastMsg, m.Received)
	}
	sendTime := lastMsg.Sub(firstDue)
	var bundles []string
	require.NoError(b, gdb.Model(&models.BundleRequest{}).Where("administration_id = ?", adm.ID).Distinct().Pluck("bundle_key", &bundles).Error)
	b.Logf("%d invoices over %d customers: journeys started in %s (%.0f/s; bare StartWorkflow %.0f/s), planned after %s; "+
		"the window: %d steps due, %d emails at the SMTP server in %d bundles, the last %s after the first due instant (the due instants spread over %s); load average %s",
		n, nc, took.Round(time.Second), perSecond(n, took), bare, plannedIn.Round(time.Second),
		n, len(msgs), len(bundles), sendTime.Round(time.Second), lastDue.Sub(firstDue).Round(time.Second), loadAverage())
	require.Len(b, msgs, len(bundles), "one email per bundle")

	// Histories: a sample of the customers' bundle workflows and of the
	// journeys.
	dc := converter.GetDefaultDataConverter()
	sample := min(*bundleHistories, nc)
	var bundleEvents []int
	for k := range sample {
		c := custs[invs[k*n/sample].CustomerID]
		bundleEvents = append(bundleEvents, len(history(b, tc, workflows.BundleWorkflowID(adm.ID, c.ID, "EUR"))))
	}
	var journeyEvents, stepEvents []int
	for k := range min(*bundleHistories, n) {
		inv := invs[k*n/min(*bundleHistories, n)]
		events := history(b, tc, inv.WorkflowID)
		_, slots, err := segmentHistory(events, dc)
		require.NoError(b, err)
		require.Len(b, slots, 1, "%s: one reminder sent", inv.WorkflowID)
		journeyEvents = append(journeyEvents, len(events))
		stepEvents = append(stepEvents, slots[0].events)
		if k == 0 {
			var types []string
			for _, ev := range events[slots[0].start:] {
				types = append(types, strings.TrimPrefix(ev.GetEventType().String(), "EVENT_TYPE_"))
			}
			b.Logf("a bundled reminder step in %s: %s", inv.WorkflowID, strings.Join(types, " "))
		}
	}
	first := history(b, tc, workflows.BundleWorkflowID(adm.ID, custs[invs[0].CustomerID].ID, "EUR"))
	var types []string
	for _, ev := range first {
		types = append(types, strings.TrimPrefix(ev.GetEventType().String(), "EVENT_TYPE_"))
	}
	b.Logf("a bundle workflow's history: %s", strings.Join(types, " "))
	b.Logf("histories read: %d bundle workflows (events min/median/max %d/%d/%d), %d journeys (events %d/%d/%d; the bundled step %d/%d/%d)",
		len(bundleEvents), minOf(bundleEvents), medianOf(bundleEvents), maxOf(bundleEvents),
		len(journeyEvents), minOf(journeyEvents), medianOf(journeyEvents), maxOf(journeyEvents),
		minOf(stepEvents), medianOf(stepEvents), maxOf(stepEvents))

	b.ReportMetric(float64(n), "steps_due")
	b.ReportMetric(float64(len(msgs)), "emails")
	b.ReportMetric(float64(nc), "customers")
	b.ReportMetric(float64(n)/float64(len(msgs)), "steps/email")
	b.ReportMetric(meanOf(bundleEvents), "events/bundle")
	b.ReportMetric(meanOf(stepEvents), "events/bundled_step")
	b.ReportMetric(meanOf(journeyEvents), "events/journey")
	b.ReportMetric(sendTime.Seconds(), "window_s")
	b.ReportMetric(perSecond(n, sendTime), "steps/s")
	b.ReportMetric(perSecond(len(msgs), sendTime), "emails/s")
	b.ReportMetric(bare, "bare_starts/s")
	b.ReportMetric(perSecond(n, sendTime)/bare, "steps/bare")
}

// ledger stores n open invoices due today over nc customers (reachable by
// email), a customer's invoices next to each other; customers are returned
// by ID.
func ledger(b *testing.B, gdb *gorm.DB, adm *models.Administration, n, nc int) (map[int64]*models.Customer, []models.Invoice) {
	b.Helper()
	custs := make([]models.Customer, nc)
	for i := range custs {
		ref := fmt.Sprintf("L%d-%d", adm.ID, i)
		custs[i] = models.Customer{AdministrationID: adm.ID, ExternalRef: ref, Name: "Customer " + ref, Language: "en",
			Email: strings.ToLower(ref) + "@customer.example", Country: "NL",
			CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: "tok-" + ref}
	}
	require.NoError(b, gdb.CreateInBatches(custs, 500).Error)
	byID := make(map[int64]*models.Customer, nc)
	for i := range custs {
		byID[custs[i].ID] = &custs[i]
	}
	today := localToday(b, adm)
	invs := make([]models.Invoice, n)
	for i := range invs {
		num := fmt.Sprintf("L-%07d", i)
		invs[i] = models.Invoice{AdministrationID: adm.ID, CustomerID: custs[i*nc/n].ID, Number: num,
			IssueDate: today, DueDate: today, Currency: "EUR", AmountMinor: 10000 + int64(i), OpenMinor: 10000 + int64(i),
			Status: models.InvoiceOpen, Stage: string(workflows.StageScheduled), WorkflowID: workflows.InvoiceWorkflowID(adm.ID, num)}
	}
	require.NoError(b, gdb.CreateInBatches(invs, 1000).Error)
	return byID, invs
}

func minOf(v []int) int {
	if len(v) == 0 {
		return 0
	}
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func maxOf(v []int) int {
	m := 0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func medianOf(v []int) int {
	if len(v) == 0 {
		return 0
	}
	s := append([]int(nil), v...)
	sort.Ints(s)
	return s[len(s)/2]
}

func meanOf(v []int) float64 {
	if len(v) == 0 {
		return 0
	}
	t := 0
	for _, x := range v {
		t += x
	}
	return float64(t) / float64(len(v))
}
