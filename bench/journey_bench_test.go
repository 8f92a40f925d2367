package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"gorm.io/gorm"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/app"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/journeys"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/worker"
	"github.com/relance/relance/workflows"
)

var (
	historyDay = flag.Duration("bench.day", time.Second,
		"journey day of BenchmarkJourneyHistory: long enough that a send retried once (5s backoff) does not make the next step catch up")
	sleepingJourneys = sizesFlag("bench.sleeping", []int{10000, 50000}, "sizes of the books BenchmarkWorkerMemory keeps asleep in one worker, comma-separated")
	wakeupSample     = flag.Int("bench.wakeups", 100, "evicted journeys BenchmarkWorkerMemory wakes to measure the replay")
	changeUpTo       = flag.Int("bench.change", 10000, "largest book whose default journey BenchmarkWorkerMemory changes and follows to the end (0: none)")
	startsPerPath    = flag.Int("bench.starts", 2000, "starts BenchmarkJourneyStarts makes on each path")
)

// sendStepName is the registered name of the sending activity (the method's name).
const sendStepName = "SendStep"

// BenchmarkJourneyHistory runs one invoice through the shipped default
// journey (journeys.Default: the invoice, reminders, a final reminder with
// its SMS, the hand-over to collection), with the real workflow, the real activities on
// PostgreSQL and loopback SMTP/Vonage/letter sinks, on a short journey day;
// then it reads the history back and reports its size: in total, per sent
// step, and for each reminder step (goal: at most 12 events).
func BenchmarkJourneyHistory(b *testing.B) {
	tc := devServer(b)
	gdb := testkit.Postgres(b)
	acts, sk := newActivities(b, gdb, *historyDay)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- worker.Run(ctx, tc, acts, worker.Options{SMSPerSecond: 1000}) }()
	b.Cleanup(func() { cancel(); <-done })
	adm := newAdministration(b, gdb, "History")

	var total, startPlan, perStep, reminderMax, slotsSent float64
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		cust := newCustomer(b, gdb, adm, fmt.Sprintf("H%d", i))
		today := localToday(b, adm)
		inv := &models.Invoice{AdministrationID: adm.ID, CustomerID: cust.ID, Number: fmt.Sprintf("H-%d-%d", i, time.Now().UnixNano()),
			IssueDate: today, DueDate: today.AddDate(0, 0, 14), Currency: "EUR", AmountMinor: 125000, OpenMinor: 125000,
			Status: models.InvoiceOpen, Stage: string(workflows.StageScheduled)}
		inv.WorkflowID = workflows.InvoiceWorkflowID(adm.ID, inv.Number)
		require.NoError(b, gdb.Create(inv).Error)
		mailsBefore := len(sk.mail.Messages())
		b.StartTimer()

		started, err := app.New(app.Options{Temporal: tc}).StartJourney(context.Background(), adm, cust, inv)
		require.NoError(b, err)
		require.True(b, started)
		wctx, wcancel := context.WithTimeout(context.Background(), 200*(*historyDay)+time.Minute)
		var res workflows.JourneyResult
		err = tc.GetWorkflow(wctx, inv.WorkflowID, "").Get(wctx, &res)
		wcancel()
		require.NoError(b, err)

		b.StopTimer()
		require.Equal(b, workflows.OutcomeCollection, res.Outcome)
		events := history(b, tc, inv.WorkflowID)
		head, slots, err := segmentHistory(events, converter.GetDefaultDataConverter())
		require.NoError(b, err)

		var parts []string
		maxRem, remAt := 0, -1
		for k, s := range slots {
			parts = append(parts, fmt.Sprintf("%s=%d", strings.Join(s.kinds, "+"), s.events))
			if len(s.kinds) == 1 && s.kinds[0] == string(policy.StepReminder) && s.events > maxRem {
				maxRem, remAt = s.events, k
			}
		}
		if remAt >= 0 {
			var types []string
			for _, ev := range events[slots[remAt].start : slots[remAt].start+slots[remAt].events] {
				types = append(types, strings.TrimPrefix(ev.GetEventType().String(), "EVENT_TYPE_"))
			}
			b.Logf("largest reminder step: %s", strings.Join(types, " "))
		}
		attempts := int32(0)
		for _, ev := range events {
			attempts = max(attempts, ev.GetActivityTaskStartedEventAttributes().GetAttempt())
		}
		b.Logf("history of %s: %d events; start and plan %d; per slot (from its send to the next): %s; most attempts of an activity: %d",
			inv.WorkflowID, len(events), head, strings.Join(parts, " "), attempts)
		want := defaultSlots()
		if len(slots) != want {
			if st, err := app.New(app.Options{Temporal: tc}).JourneyState(context.Background(), inv.WorkflowID); err == nil {
				for _, s := range st.Steps {
					b.Logf("step %+d %s at %s: %s %s", s.OffsetDays, s.Kind, s.At.Format(time.RFC3339Nano), s.Status, s.Reason)
				}
			}
		}
		// Every slot of the default journey must really have gone out: a
		// caught-up step (a machine too slow for the journey day) would
		// make the figures lie. Raise -bench.day if this fails.
		require.Len(b, slots, want, "slots sent; a step was caught up: raise -bench.day")
		require.Equal(b, want, res.Sent, "slots sent")
		require.GreaterOrEqual(b, len(sk.mail.Messages())-mailsBefore, want-1, "emails at the SMTP sink")
		total += float64(len(events))
		startPlan += float64(head)
		perStep += float64(len(events)) / float64(len(slots))
		reminderMax += float64(maxRem)
		slotsSent += float64(len(slots))
		b.StartTimer()
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(total/n, "events/journey")
	b.ReportMetric(startPlan/n, "events/start_and_plan")
	b.ReportMetric(perStep/n, "events/sent_step")
	b.ReportMetric(reminderMax/n, "events/reminder_step")
	b.ReportMetric(slotsSent/n, "steps_sent/journey")
}

// defaultSlots is how many slots (steps sent together: same offset) the
// shipped default journey has.
func defaultSlots() int {
	offsets := map[int]bool{}
	for _, s := range journeys.Default() {
		offsets[s.OffsetDays] = true
	}
	return len(offsets)
}

// history reads a workflow's whole history.
func history(b *testing.B, tc client.Client, workflowID string) []*historypb.HistoryEvent {
	b.Helper()
	it := tc.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var out []*historypb.HistoryEvent
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(b, err)
		out = append(out, ev)
	}
	return out
}

// slotSegment is the part of a history that one sent slot costs: from the
// event scheduling its first SendStep to the event scheduling the next
// slot's (or the end). A journey is a cycle of send, record, sleep; cutting
// it at each send counts every event exactly once.
type slotSegment struct {
	kinds  []string
	start  int // index of its first event
	events int
}

// segmentHistory cuts a journey's history at each sent slot (the SendStep
// activities scheduled by one workflow task). head is the events before the
// first slot: the start and the planning activity.
func segmentHistory(events []*historypb.HistoryEvent, dc converter.DataConverter) (head int, slots []slotSegment, err error) {
	var starts []int
	var wfts []int64
	for i, ev := range events {
		if ev.GetEventType() != enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED {
			continue
		}
		at := ev.GetActivityTaskScheduledEventAttributes()
		if at.GetActivityType().GetName() != sendStepName {
			continue
		}
		var in activities.SendInput
		if err := dc.FromPayloads(at.GetInput(), &in); err != nil {
			return 0, nil, fmt.Errorf("decode input of event %d: %w", ev.GetEventId(), err)
		}
		wft := at.GetWorkflowTaskCompletedEventId()
		if n := len(slots); n > 0 && wfts[n-1] == wft {
			slots[n-1].kinds = append(slots[n-1].kinds, string(in.Step.Kind))
			continue
		}
		starts = append(starts, i)
		wfts = append(wfts, wft)
		slots = append(slots, slotSegment{kinds: []string{string(in.Step.Kind)}, start: i})
	}
	head = len(events)
	if len(starts) > 0 {
		head = starts[0]
	}
	for k := range slots {
		end := len(events)
		if k+1 < len(starts) {
			end = starts[k+1]
		}
		slots[k].events = end - starts[k]
		sort.Strings(slots[k].kinds)
	}
	return head, slots, nil
}

// timedQuery asks a journey for its state and returns how long the answer took.
func timedQuery(b *testing.B, tc client.Client, workflowID string) time.Duration {
	b.Helper()
	t0 := time.Now()
	_, err := app.New(app.Options{Temporal: tc}).JourneyState(context.Background(), workflowID)
	require.NoError(b, err)
	return time.Since(t0)
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// sleepingInvoices stores n open invoices whose first step lies ten days
// ahead (issued then), spread over 100 customers, so that their journeys
// plan and then sleep.
func sleepingInvoices(b *testing.B, gdb *gorm.DB, adm *models.Administration, n int) ([]models.Customer, []models.Invoice) {
	b.Helper()
	custs := make([]models.Customer, 100)
	for i := range custs {
		custs[i] = *newCustomer(b, gdb, adm, fmt.Sprintf("M%d-%d", adm.ID, i))
	}
	issue := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 10)
	invs := make([]models.Invoice, n)
	for i := range invs {
		num := fmt.Sprintf("M-%06d", i)
		invs[i] = models.Invoice{AdministrationID: adm.ID, CustomerID: custs[i%len(custs)].ID, Number: num,
			IssueDate: issue, DueDate: issue.AddDate(0, 0, 30), Currency: "EUR", AmountMinor: 10000 + int64(i), OpenMinor: 10000 + int64(i),
			Status: models.InvoiceOpen, Stage: string(workflows.StageScheduled), WorkflowID: workflows.InvoiceWorkflowID(adm.ID, num)}
	}
	require.NoError(b, gdb.CreateInBatches(invs, 500).Error)
	return custs, invs
}

// sizesFlag is a flag of comma-separated positive integers.
func sizesFlag(name string, def []int, usage string) *[]int {
	v := append([]int(nil), def...)
	flag.Func(name, usage, func(s string) error {
		v = v[:0]
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				return fmt.Errorf("%q is not a positive integer", f)
			}
			v = append(v, n)
		}
		return nil
	})
	return &v
}

// BenchmarkJourneyStarts compares the rate of journey starts with the rate
// of bare StartWorkflow calls (a no-op workflow with default options) on the
// same server, in alternating rounds so that all paths see the same
// machine: on the dev server (server=dev) and on the real Temporal server on
// PostgreSQL (server=postgres: bin/temporal-server, four history shards, a
// pool of startsServerConns). Two paths are measured: the start itself
// (app.StartJourney with no database: readable ID, the conflict policy,
// five search attributes, the static summary), and the whole creation of an
// invoice as the API does it (app.CreateInvoice on PostgreSQL: the invoice
// row, then the start; the journey_started mark after the answer). No
// worker runs: only the starts are measured.
func BenchmarkJourneyStarts(b *testing.B) {
	b.Run("server=dev", func(b *testing.B) { journeyStarts(b, devServer(b)) })
	b.Run("server=postgres", func(b *testing.B) {
		srv := testkit.TemporalServerSized(b, relanceBinary(b), startsNamespace, startsServerConns)
		tc, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: startsNamespace, Logger: sdklog.NewStructuredLogger(quiet())})
		require.NoError(b, err)
		b.Cleanup(tc.Close)
		journeyStarts(b, tc)
	})
}

// startsNamespace is the namespace BenchmarkJourneyStarts registers on the
// real server; startsServerConns its history store's pool (the shared
// PostgreSQL allows 100 connections to every session at once).
const (
	startsNamespace   = "relance-starts"
	startsServerConns = 10
)

func journeyStarts(b *testing.B, tc client.Client) {
	gdb := testkit.Postgres(b)
	adm := newAdministration(b, gdb, "Starts")
	cust := newCustomer(b, gdb, adm, "S1")
	starter := app.New(app.Options{Temporal: tc, Logger: quiet()})
	creator := app.New(app.Options{DB: gdb, Temporal: tc, Logger: quiet()})
	today := time.Now().UTC().Truncate(24 * time.Hour)
	per := *startsPerPath
	const rounds = 6 // each of the three paths begins two rounds
	roundSize := max(per/rounds, 1)
	invoice := func(number string) *models.Invoice {
		return &models.Invoice{Number: number, IssueDate: today.AddDate(0, 0, 10), DueDate: today.AddDate(0, 0, 40),
			Currency: "EUR", AmountMinor: 10000, OpenMinor: 10000}
	}

	var journeyRate, createRate, bareRate float64
	b.ResetTimer()
	for it := range b.N {
		var dJourney, dCreate, dBare time.Duration
		for r := range rounds {
			prefix := fmt.Sprintf("it%d-r%d", it, r)
			paths := []func(){
				func() { dBare += bareStarts(b, tc, "bare-"+prefix, roundSize) },
				func() {
					dJourney += parallel(b, roundSize, func(ctx context.Context, i int) error {
						inv := invoice(fmt.Sprintf("S-%s-%d", prefix, i))
						inv.ID, inv.AdministrationID, inv.CustomerID = int64(i+1), adm.ID, cust.ID
						ok, err := starter.StartJourney(ctx, adm, cust, inv)
						if err == nil && !ok {
							err = fmt.Errorf("journey %s already existed", inv.Number)
						}
						return err
					})
				},
				func() {
					dCreate += parallel(b, roundSize, func(ctx context.Context, i int) error {
						return creator.CreateInvoice(ctx, adm, cust, invoice(fmt.Sprintf("C-%s-%d", prefix, i)))
					})
				},
			}
			// Each round begins with another path: in a fixed order a path
			// gains or loses by its place (the first runs on the smaller
			// store, the next while the server still does the asynchronous
			// work of the starts before it).
			for k := range paths {
				paths[(k+r)%len(paths)]()
			}
		}
		journeyRate += perSecond(rounds*roundSize, dJourney)
		createRate += perSecond(rounds*roundSize, dCreate)
		bareRate += perSecond(rounds*roundSize, dBare)
	}
	b.StopTimer()
	var unmarked int64
	require.NoError(b, gdb.Model(&models.Invoice{}).Where("journey_started = ?", false).Count(&unmarked).Error)
	b.Logf("load average at the end: %s; invoices whose mark (written after the answer) was not there yet: %d", loadAverage(), unmarked)
	k := float64(b.N)
	b.ReportMetric(journeyRate/k, "journeys/s")
	b.ReportMetric(createRate/k, "invoices/s")
	b.ReportMetric(bareRate/k, "bare_starts/s")
	b.ReportMetric(journeyRate/bareRate, "journey/bare")
	b.ReportMetric(createRate/bareRate, "invoice/bare")
}

// loadAverage is the machine's load average (/proc/loadavg), for the log.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	return strings.Join(f[:min(3, len(f))], " ")
}
