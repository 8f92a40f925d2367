package bench

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"gorm.io/gorm"

	"github.com/relance/relance/app"
	"github.com/relance/relance/deploy/prodlocal"
	"github.com/relance/relance/devsink"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/workflows"
)

var (
	bookSize = flag.Int("bench.book", envInt("RELANCE_BENCH_BOOK", 100000),
		"open invoices of BenchmarkBook (RELANCE_BENCH_BOOK): journeys resident on the real Temporal server")
	bookWindow = flag.Int("bench.window", envInt("RELANCE_BENCH_WINDOW", 5000),
		"invoices of the book due in the one send window BenchmarkBook sends (RELANCE_BENCH_WINDOW)")
	bookDay = flag.Duration("bench.bookday", 0,
		"journey day of BenchmarkBook: the window falls due one day after its journeys start, so it should outlast their start and planning (default: 60 ms per invoice of the window, at least 3 minutes)")
)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// bookNamespace is the namespace BenchmarkBook registers on its server.
const bookNamespace = "relance-bench"

// BenchmarkBook is the book of open invoices on the production topology:
// the real Temporal server (bin/temporal-server, four history shards, a
// pool of 20 connections) on PostgreSQL and one `relance worker` process (its default configuration)
// on PostgreSQL, sending to loopback SMTP and Vonage servers.
//
// Bundling is off for the book's administration: the window is 5,000
// messages, one per invoice.
//
// It starts --bench.book journeys (100,000 by default): first all but
// --bench.window of them, whose first step lies more than a year ahead, and
// waits until they have planned and sleep; then the last --bench.window
// (5,000), which send a reminder one journey day after they start, all
// within one window. It reports the bare StartWorkflow
// rate of the same server (a workflow no worker runs), the journey start
// rate, the worker's resident memory while the book sleeps and at its
// highest while the window is sent, the time from the window's first due
// instant to its last message at the SMTP server (and how long its due
// instants spread, bounded by the start rate), and the databases' growth per
// invoice from the empty cluster: the Temporal store, its history tables,
// visibility, Relance's.
//
// Not run by make test; `make bench` runs it at 100,000. A smaller book:
// RELANCE_BENCH_BOOK=20000 RELANCE_BENCH_WINDOW=5000 make bench, or
// go test ./bench -run '^$' -bench Book -args -bench.book=20000.
func BenchmarkBook(b *testing.B) {
	n, w, day := *bookSize, *bookWindow, *bookDay
	if day <= 0 {
		day = max(3*time.Minute, time.Duration(w)*60*time.Millisecond)
	}
	require.True(b, w > 0 && w <= n, "the window (%d) must be within the book (%d)", w, n)
	bin := testkit.RelanceBinary(b)
	srv := testkit.TemporalServerSized(b, bin, bookNamespace, 20)
	gdb, dbURL := testkit.PostgresWithURL(b)
	tc, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: bookNamespace, Logger: sdklog.NewStructuredLogger(quiet())})
	require.NoError(b, err)
	b.Cleanup(tc.Close)

	// The databases' sizes before anything runs: what an empty cluster
	// takes, subtracted from the sizes per invoice.
	empty := bookSizes(b, gdb, srv)

	// The bare rate of this server, before the book loads it.
	const bareN = 2000
	bare := perSecond(bareN, bareStarts(b, tc, "bare", bareN))
	say(b, "bare StartWorkflow on this server: %.0f/s (%d starts, %d in flight; load average %s)", bare, bareN, startConcurrency, loadAverage())

	// Every message of the window is kept (a sink keeps 1,000 by default).
	mail := &devsink.SMTPSink{Max: w + 1000}
	require.NoError(b, mail.Start("127.0.0.1:0"))
	b.Cleanup(func() { _ = mail.Close() })
	vonage := &devsink.VonageSink{APIKey: "k", APISecret: "s"}
	vsrv := httptest.NewServer(vonage)
	b.Cleanup(vsrv.Close)
	b.Cleanup(vonage.Close)
	_, smtpPort, _ := net.SplitHostPort(mail.Addr())
	health := freeAddr(b)
	logPath := filepath.Join(b.TempDir(), "worker.log")
	wp, err := prodlocal.StartProcess("worker", logPath, bin, []string{
		"DATABASE_URL=" + dbURL, "TEMPORAL_ADDRESS=" + srv.Address(), "TEMPORAL_NAMESPACE=" + bookNamespace,
		"RELANCE_DAY=" + day.String(), "RELANCE_LOG_LEVEL=warn", "RELANCE_WORKER_LISTEN=" + health,
		"SMTP_HOST=127.0.0.1", "SMTP_PORT=" + smtpPort, "SMTP_TLS=none", "SMTP_USERNAME=", "SMTP_FROM=ar@bench.example",
		"VONAGE_BASE_URL=" + vsrv.URL, "VONAGE_API_KEY=k", "VONAGE_API_SECRET=s",
		"LETTERS_PROVIDER=folder", "LETTERS_DIR=" + b.TempDir(),
	}, "worker")
	require.NoError(b, err)
	b.Cleanup(func() {
		wp.Stop(30 * time.Second)
		if b.Failed() {
			b.Logf("--- worker log (tail) ---\n%s", prodlocal.Tail(logPath, 8000))
		}
	})
	pid := wp.Pid()

	adm := newAdministration(b, gdb, "Book")
	// One message per invoice: the window measures the journeys' own send
	// path, 5,000 messages counted at the SMTP server. With bundling (the
	// default) the same steps leave as one email per customer and window;
	// BenchmarkBundleWindow measures that path.
	adm.Bundling = models.BundlingOff
	require.NoError(b, gdb.Model(adm).Update("bundling", adm.Bundling).Error)
	j := models.Journey{AdministrationID: adm.ID, Name: "Book", MinGapDays: 1, Steps: []models.JourneyStep{
		{Position: 0, OffsetDays: 1, Kind: string(policy.StepReminder), Template: "default"}}}
	require.NoError(b, gdb.Create(&j).Error)
	require.NoError(b, gdb.Model(adm).Update("default_journey_id", j.ID).Error)
	custs, invs := bookInvoices(b, gdb, adm, n, w)

	alive := func() {
		select {
		case <-wp.Done():
			b.Fatalf("the worker exited (%v):\n%s", wp.Err(), prodlocal.Tail(logPath, 4000))
		default:
		}
	}
	// waitPlanned waits until the worker has planned k journeys (its
	// PlanJourney count) and returns how long that took from since.
	waitPlanned := func(k int, since time.Time) time.Duration {
		for planned(b, health) < k {
			alive()
			time.Sleep(time.Second)
		}
		return time.Since(since)
	}

	// Progress on stderr while it runs (the figures come at the end, and a
	// run stopped before that still says how far it got).
	var startsDone atomic.Int64
	progress := time.NewTicker(time.Minute)
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	tp := time.Now()
	go func() {
		defer close(progressDone)
		for {
			select {
			case <-stopProgress:
				return
			case <-progress.C:
				fmt.Fprintf(os.Stderr, "book %s: %d of %d journeys started, %d planned, %d messages at the SMTP server; worker RSS %.1f MB; load average %s\n",
					time.Since(tp).Round(time.Second), startsDone.Load(), n, planned(b, health), len(mail.Messages()), float64(rssOf(pid))/1e6, loadAverage())
			}
		}
	}()
	b.Cleanup(func() { progress.Stop(); close(stopProgress); <-progressDone })

	b.ResetTimer()
	// The sleeping book first, started as an import starts journeys
	// (app.StartJourney, the import's concurrency), until every journey has
	// planned and sleeps.
	t0 := time.Now()
	sleepers := parallel(b, n-w, func(ctx context.Context, i int) error {
		defer startsDone.Add(1)
		return startOne(ctx, tc, adm, custs, &invs[i])
	})
	asleep := waitPlanned(n-w, t0)
	time.Sleep(5 * time.Second) // the last timers are armed just after their plan
	sleepingRSS := rss(b, pid)
	say(b, "started %d sleeping journeys in %s (%.0f/s; bare StartWorkflow %.0f/s on the same server), all planned and asleep after %s: worker RSS %.0f MB",
		n-w, sleepers.Round(time.Second), perSecond(n-w, sleepers), bare, asleep.Round(time.Second), float64(sleepingRSS)/1e6)

	// Then the window's invoices: each sends its reminder one journey day
	// after its start. At a scaled day a step is due the journey days
	// between the start's date and its own, read in the administration's
	// zone: the window's invoices fall due on the date the window starts
	// (the book may have taken past midnight there), so that their
	// reminder, one day after, lands one journey day after their start.
	windowDue(b, gdb, adm, invs[n-w:])
	windowStarts := make([]time.Time, w)
	t1 := time.Now()
	windowTook := parallel(b, w, func(ctx context.Context, i int) error {
		windowStarts[i] = time.Now()
		defer startsDone.Add(1)
		return startOne(ctx, tc, adm, custs, &invs[n-w+i])
	})
	startRate := perSecond(n, sleepers+windowTook)
	firstDue, lastDue := windowStarts[0], windowStarts[0]
	for _, s := range windowStarts {
		firstDue, lastDue = minTime(firstDue, s), maxTime(lastDue, s)
	}
	firstDue, lastDue = firstDue.Add(day), lastDue.Add(day)
	plannedIn := waitPlanned(n, t1)
	if time.Now().After(firstDue) {
		say(b, "the window's journeys were not all planned when it fell due (planning took %s, the journey day is %s): its send time includes planning",
			plannedIn.Round(time.Second), day)
	}

	// The window: wait for its messages at the SMTP server, sampling the
	// worker's memory.
	peakRSS := sleepingRSS
	var lastMsg time.Time
	deadline := lastDue.Add(time.Hour)
	for {
		alive()
		peakRSS = max(peakRSS, rss(b, pid))
		got := len(mail.Messages())
		if got >= w {
			lastMsg = time.Now()
			break
		}
		require.True(b, time.Now().Before(deadline), "only %d of the window's %d messages arrived", got, w)
		time.Sleep(250 * time.Millisecond)
	}
	b.StopTimer()
	sendTime := lastMsg.Sub(firstDue)
	say(b, "window: %d journeys started in %s; their %d reminders sent in %s from the first due instant (%.1f/s; the due instants spread over %s); worker RSS peak %.0f MB",
		w, windowTook.Round(time.Second), w, sendTime.Round(time.Second), perSecond(w, sendTime), lastDue.Sub(firstDue).Round(time.Second), float64(peakRSS)/1e6)

	// Per invoice: the growth since the empty cluster over the book (the
	// bare workflows, a start each, are counted in with it).
	sizes := bookSizes(b, gdb, srv)
	for k, v := range sizes {
		sizes[k] = v - empty[k]
	}
	for _, k := range []string{"temporal_db", "history", "executions", "visibility_db", "relance_db"} {
		say(b, "%-14s grew %8.1f MB: %6.0f bytes per invoice", k, float64(sizes[k])/1e6, float64(sizes[k])/float64(n))
	}

	b.ReportMetric(float64(n), "invoices")
	b.ReportMetric(float64(w), "window")
	b.ReportMetric(bare, "bare_starts/s")
	b.ReportMetric(startRate, "journey_starts/s")
	b.ReportMetric(startRate/bare, "start_ratio")
	b.ReportMetric(sendTime.Seconds(), "window_s")
	b.ReportMetric(float64(sleepingRSS)/1e6, "rss_sleeping_MB")
	b.ReportMetric(float64(peakRSS)/1e6, "rss_window_MB")
	b.ReportMetric(float64(sizes["temporal_db"])/float64(n), "temporal_B/invoice")
	b.ReportMetric(float64(sizes["history"])/float64(n), "history_B/invoice")
	b.ReportMetric(float64(sizes["visibility_db"])/float64(n), "visibility_B/invoice")
	b.ReportMetric(float64(sizes["relance_db"])/float64(n), "relance_B/invoice")
}

// say logs a figure and prints it on stderr at once: a benchmark's log
// comes out only when it ends.
func say(b *testing.B, format string, args ...any) {
	b.Helper()
	b.Logf(format, args...)
	fmt.Fprintf(os.Stderr, "book: "+format+"\n", args...)
}

func startOne(ctx context.Context, tc client.Client, adm *models.Administration, custs map[int64]*models.Customer, inv *models.Invoice) error {
	ok, err := app.New(app.Options{Temporal: tc}).StartJourney(ctx, adm, custs[inv.CustomerID], inv)
	if err == nil && !ok {
		err = fmt.Errorf("journey %s already existed", inv.WorkflowID)
	}
	return err
}

// bookInvoices stores n open invoices over 1,000 customers: the first n-w
// due in 400 days (their reminder a year ahead), the last w due today
// (their reminder one journey day after the journey starts). The customers
// are returned by ID.
func bookInvoices(b *testing.B, gdb *gorm.DB, adm *models.Administration, n, w int) (map[int64]*models.Customer, []models.Invoice) {
	b.Helper()
	custs := make([]*models.Customer, 1000)
	byID := make(map[int64]*models.Customer, len(custs))
	for i := range custs {
		custs[i] = newCustomer(b, gdb, adm, fmt.Sprintf("B%d-%d", adm.ID, i))
		byID[custs[i].ID] = custs[i]
	}
	today := localToday(b, adm)
	invs := make([]models.Invoice, n)
	for i := range invs {
		due := today.AddDate(0, 0, 400)
		if i >= n-w {
			due = today
		}
		num := fmt.Sprintf("B-%07d", i)
		invs[i] = models.Invoice{AdministrationID: adm.ID, CustomerID: custs[i%len(custs)].ID, Number: num,
			IssueDate: today, DueDate: due, Currency: "EUR", AmountMinor: 10000 + int64(i), OpenMinor: 10000 + int64(i),
			Status: models.InvoiceOpen, Stage: string(workflows.StageScheduled), WorkflowID: workflows.InvoiceWorkflowID(adm.ID, num)}
	}
	require.NoError(b, gdb.CreateInBatches(invs, 1000).Error)
	return byID, invs
}

// windowDue dates the window's invoices today in the administration's
// zone (midnight UTC of that date, as dates are stored).
func windowDue(b *testing.B, gdb *gorm.DB, adm *models.Administration, window []models.Invoice) {
	b.Helper()
	today := localToday(b, adm)
	ids := make([]int64, len(window))
	for i := range window {
		window[i].IssueDate, window[i].DueDate = today, today
		ids[i] = window[i].ID
	}
	require.NoError(b, gdb.Model(&models.Invoice{}).Where("id IN ?", ids).
		Updates(map[string]any{"issue_date": today, "due_date": today}).Error)
}

// planned is how many PlanJourney activities the worker has run, from its
// /metrics (the SDK's activity execution histogram).
func planned(b *testing.B, health string) int {
	b.Helper()
	resp, err := http.Get("http://" + health + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	total := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "temporal_activity_execution_latency_seconds_count{") || !strings.Contains(line, `activity_type="PlanJourney"`) {
			continue
		}
		if f, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
			total += f
		}
	}
	return int(total)
}

// rssOf is a process's VmRSS from /proc (Linux), in bytes; 0 when it
// cannot be read (for the progress lines, which must not fail the run).
func rssOf(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// rss is a process's VmRSS from /proc (Linux), in bytes.
func rss(b *testing.B, pid int) int64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(b, err, "the worker's /proc status")
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			require.NoError(b, err)
			return kb * 1024
		}
	}
	b.Fatal("no VmRSS in the worker's /proc status")
	return 0
}

// bookSizes measures the databases: the Temporal store and its history
// tables (history_node, history_tree), its executions table, visibility,
// Relance's.
func bookSizes(b *testing.B, gdb *gorm.DB, srv *prodlocal.Temporal) map[string]int64 {
	b.Helper()
	out := map[string]int64{}
	var relance int64
	require.NoError(b, gdb.Raw("SELECT pg_database_size(current_database())").Scan(&relance).Error)
	out["relance_db"] = relance
	ctx := context.Background()
	q := func(database, sql string) int64 {
		v, err := srv.PG.QueryInt(ctx, database, sql)
		require.NoError(b, err, sql)
		return v
	}
	out["temporal_db"] = q(srv.DB, "SELECT pg_database_size(current_database())")
	out["history"] = q(srv.DB, "SELECT pg_total_relation_size('history_node') + pg_total_relation_size('history_tree')")
	out["executions"] = q(srv.DB, "SELECT pg_total_relation_size('executions')")
	out["visibility_db"] = q(srv.VisibilityDB, "SELECT pg_database_size(current_database())")
	return out
}

func freeAddr(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	addr := ln.Addr().String()
	require.NoError(b, ln.Close())
	return addr
}

func minTime(a, c time.Time) time.Time {
	if c.Before(a) {
		return c
	}
	return a
}

func maxTime(a, c time.Time) time.Time {
	if c.After(a) {
		return c
	}
	return a
}
