package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"gorm.io/gorm"

	"github.com/relance/relance/api"
	"github.com/relance/relance/app"
	"github.com/relance/relance/channels/sms"
	"github.com/relance/relance/config"
	"github.com/relance/relance/inbound"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
)

// smsOnly is a journey of one SMS on the due date.
var smsOnly = []models.JourneyStep{{Position: 0, OffsetDays: 0, Kind: string(policy.StepSMS), Template: "default"}}

// smsCrashEnv is the worker environment of the SMS crash tests.
func smsCrashEnv(t *testing.T, dbURL string, dev *testsuite.DevServer, mailSrv *countingSMTP, vonage *countingVonage, rate int, timeout time.Duration) []string {
	return []string{
		"DATABASE_URL=" + dbURL,
		"TEMPORAL_ADDRESS=" + dev.FrontendHostPort(),
		"TEMPORAL_NAMESPACE=default",
		"RELANCE_DAY=" + crashDay.String(),
		"RELANCE_LOG_LEVEL=info",
		"RELANCE_WORKER_LISTEN=127.0.0.1:0",
		"RELANCE_PUBLIC_URL=http://portal.test",
		"RELANCE_PORTAL_SECRET=crash-test-portal-secret",
		"SMTP_HOST=127.0.0.1",
		"SMTP_PORT=" + strconv.Itoa(mailSrv.port()),
		"SMTP_TLS=none",
		"SMTP_USERNAME=",
		"SMTP_FROM=" + crashFrom,
		"VONAGE_BASE_URL=" + vonage.url,
		"VONAGE_API_KEY=crash",
		"VONAGE_API_SECRET=crash-secret",
		"VONAGE_RATE_PER_SECOND=" + strconv.Itoa(rate),
		"VONAGE_TIMEOUT=" + timeout.String(),
		"LETTERS_PROVIDER=folder",
		"LETTERS_DIR=" + t.TempDir(),
	}
}

// smsRows returns the SMS outbox rows of the fixture's invoices by
// client-ref.
func smsRows(t *testing.T, gdb *gorm.DB) map[string]models.Message {
	t.Helper()
	var rows []models.Message
	require.NoError(t, gdb.Where("channel = ?", string(policy.ChannelSMS)).Find(&rows).Error)
	out := map[string]models.Message{}
	for _, m := range rows {
		out[sms.ClientRef(m.Key)] = m
	}
	return out
}

func countState(t *testing.T, gdb *gorm.DB, states ...models.MessageState) int {
	t.Helper()
	var n int64
	require.NoError(t, gdb.Model(&models.Message{}).Where("channel = ? AND state IN ?", string(policy.ChannelSMS), states).Count(&n).Error)
	return int(n)
}

// achievedRate is requests per second between the first and the last
// arrival.
func achievedRate(arrivals []time.Time) float64 {
	if len(arrivals) < 2 {
		return 0
	}
	first, last := arrivals[0], arrivals[0]
	for _, a := range arrivals {
		if a.Before(first) {
			first = a
		}
		if a.After(last) {
			last = a
		}
	}
	return float64(len(arrivals)-1) / last.Sub(first).Seconds()
}

// TestCrashSMSQueuedBehindRate: ten SMS fall due together behind a rate of
// one a second; the third request is held at the Vonage stand-in and the
// worker is SIGKILLed while the others wait for the shared limiter. Counted
// at the stand-in: every SMS went out exactly once; the one uncertain row is
// the held one, which the provider had; none that the provider never saw is
// uncertain (before the fix, every SMS waiting for the limiter was marked
// sending and became uncertain, never sent); the busiest second never held
// more than the rate.
func TestCrashSMSQueuedBehindRate(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a worker process and waits out the one-minute heartbeat timeout")
	}
	const n, rate = 10, 1
	bin := buildRelance(t)
	gdb, dbURL := testkit.PostgresWithURL(t)
	dev, tc := testkit.DevServer(t)
	mailSrv := startCountingSMTP(t)
	vonage := newCountingVonage(t)
	vonage.holdNth = 3
	f := seedJourney(t, gdb, n, smsOnly)
	env := smsCrashEnv(t, dbURL, dev, mailSrv, vonage, rate, 10*time.Second)

	w1 := startWorker(t, bin, env, "worker-1")
	for _, inv := range f.invoices {
		started, err := app.New(app.Options{Temporal: tc}).StartJourney(context.Background(), &f.adm, f.customer(inv), &inv)
		require.NoError(t, err)
		require.True(t, started)
	}
	held := vonage.heldNth(t)
	// Behind the held request, SMS wait for the limiter: their rows exist
	// and say queued (nothing was requested for them).
	require.Eventually(t, func() bool { return countState(t, gdb, models.MessageQueued) >= 2 }, testkit.Patience, 50*time.Millisecond,
		"no SMS waited for the rate limiter behind the held one")
	require.Equal(t, models.MessageSending, smsRows(t, gdb)[held].State, "the held SMS is the one being sent")
	vonage.killing.Store(true)
	w1.kill(t)
	require.False(t, vonage.gaveUpEarly.Load(), "the held request was given up before the kill")
	queuedAtKill := countState(t, gdb, models.MessageQueued)
	t.Logf("at the kill: %d SMS accepted, 1 held, %d queued behind the rate", vonage.total(), queuedAtKill)
	vonage.release(t, held, true) // the provider accepts it after the kill

	startWorker(t, bin, env, "worker-2")
	require.Eventually(t, func() bool {
		return countState(t, gdb, models.MessageSent, models.MessageUncertain) == n
	}, 4*time.Minute, 250*time.Millisecond, "not every SMS was settled")

	requested := vonage.requested()
	for ref, m := range smsRows(t, gdb) {
		require.LessOrEqual(t, requested[ref], 1, "%s requested %d times", m.Key, requested[ref])
		switch m.State {
		case models.MessageSent:
			require.Equal(t, 1, vonage.count(ref), "sent row %s", m.Key)
			require.NotEmpty(t, m.ProviderID, m.Key)
		case models.MessageUncertain:
			require.Equal(t, held, ref, "uncertain row %s was never seen by the provider (%s)", m.Key, m.Reason)
			require.Equal(t, 1, vonage.count(ref))
		default:
			t.Errorf("row %s ended %s (%s)", m.Key, m.State, m.Reason)
		}
	}
	require.Equal(t, n, vonage.total(), "every SMS reached the provider once")
	arrivals := vonage.arrivalTimes()
	busiest := testkit.MaxInWindow(arrivals, time.Second)
	t.Logf("busiest second at the stand-in: %d (rate %d); achieved %.2f/s over %d requests (configured %d/s, with a kill and a 1-minute heartbeat timeout in between)",
		busiest, rate, achievedRate(arrivals), len(arrivals), rate)
	require.LessOrEqual(t, busiest, rate)
}

// TestCrashSMSReceiptDuringSend: Vonage accepts an SMS and its delivery
// receipt reaches the API's webhook while the worker still waits for the
// HTTP answer; then the worker is SIGKILLed. The receipt proves Vonage had
// it: the row is sent (not uncertain), and the retry sends nothing again.
func TestCrashSMSReceiptDuringSend(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a worker process and waits out the one-minute heartbeat timeout")
	}
	bin := buildRelance(t)
	gdb, dbURL := testkit.PostgresWithURL(t)
	dev, tc := testkit.DevServer(t)
	mailSrv := startCountingSMTP(t)
	vonage := newCountingVonage(t)
	cfg := config.Config{MaxBodyBytes: 1 << 20, MaxImportBytes: 1 << 20, Day: crashDay, PortalSecret: "crash-test-portal-secret"}
	apiSrv := httptest.NewServer(api.NewRouter(api.Deps{App: app.New(app.Options{DB: gdb, Temporal: tc}), Inbound: inbound.NewRecorder(gdb, nil), Config: cfg}))
	t.Cleanup(apiSrv.Close)
	vonage.sink.CallbackURL = apiSrv.URL + "/webhooks/vonage/status"
	vonage.sink.ReceiptDelay = 10 * time.Millisecond
	f := seedJourney(t, gdb, 1, smsOnly)
	inv := f.invoices[0]
	key := fmt.Sprintf("%s/0/%s/sms", inv.WorkflowID, policy.StepSMS)
	ref := sms.ClientRef(key)
	vonage.answerLater.hold(ref)
	env := smsCrashEnv(t, dbURL, dev, mailSrv, vonage, 30, 5*time.Minute)

	w1 := startWorker(t, bin, env, "worker-1")
	started, err := app.New(app.Options{Temporal: tc}).StartJourney(context.Background(), &f.adm, f.customer(inv), &inv)
	require.NoError(t, err)
	require.True(t, started)
	vonage.answerLater.waitHeld(t, ref)
	require.Eventually(t, func() bool { return messageRow(t, gdb, key).DeliveryStatus == sms.ReceiptDelivered }, testkit.Patience, 50*time.Millisecond,
		"the delivery receipt was not recorded")
	row := messageRow(t, gdb, key)
	require.Equal(t, models.MessageSent, row.State, "a receipt recorded while the row is sending settles it: %s", row.Reason)
	vonage.killing.Store(true)
	w1.kill(t)
	vonage.answerLater.release(t, ref, true) // to a dead client

	w2 := startWorker(t, bin, env, "worker-2")
	// The retry (after the heartbeat timeout) finds the row sent and
	// reports it so: the journey's step reads sent.
	require.Eventually(t, func() bool {
		st, err := app.New(app.Options{Temporal: tc}).JourneyState(context.Background(), inv.WorkflowID)
		if err != nil || len(st.Steps) == 0 {
			return false
		}
		return st.Steps[0].Status != "planned" && st.Steps[0].Status != ""
	}, 3*time.Minute, 250*time.Millisecond, "the SMS step was not settled")
	_ = w2
	row = messageRow(t, gdb, key)
	require.Equal(t, models.MessageSent, row.State, row.Reason)
	require.NotEmpty(t, row.ProviderID)
	require.Equal(t, sms.ReceiptDelivered, row.DeliveryStatus)
	require.Equal(t, 1, vonage.count(ref))
	require.Equal(t, 1, vonage.requested()[ref], "sent once")
}

// TestCrashSMSHangingRequests: a fifth of the requests hang at the Vonage
// stand-in (read whole, never answered) while two worker processes send 20
// SMS at a rate of 5 a second through the shared limiter. Counted at the
// stand-in: no SMS was requested twice (a hung one is uncertain, not
// resent), every other one was sent once, and the busiest second never held
// more than the rate although hung requests were cut off and others went
// on meanwhile. The achieved rate is printed beside the configured one.
func TestCrashSMSHangingRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two worker processes")
	}
	const n, rate = 20, 5
	const timeout = 2 * time.Second
	bin := buildRelance(t)
	gdb, dbURL := testkit.PostgresWithURL(t)
	dev, tc := testkit.DevServer(t)
	mailSrv := startCountingSMTP(t)
	vonage := newCountingVonage(t)
	vonage.sink.HangEvery = 5
	f := seedJourney(t, gdb, n, smsOnly)
	env := smsCrashEnv(t, dbURL, dev, mailSrv, vonage, rate, timeout)
	startWorker(t, bin, env, "worker-1")
	startWorker(t, bin, env, "worker-2")
	for _, inv := range f.invoices {
		started, err := app.New(app.Options{Temporal: tc}).StartJourney(context.Background(), &f.adm, f.customer(inv), &inv)
		require.NoError(t, err)
		require.True(t, started)
	}
	require.Eventually(t, func() bool {
		return countState(t, gdb, models.MessageSent, models.MessageUncertain) == n
	}, 3*time.Minute, 250*time.Millisecond, "not every SMS was settled")

	hung := map[string]bool{}
	for _, ref := range vonage.sink.Hung() {
		hung[ref] = true
	}
	require.Len(t, hung, n/5, "a fifth of the requests hung")
	requested := vonage.requested()
	for ref, m := range smsRows(t, gdb) {
		require.Equal(t, 1, requested[ref], "%s requested %d times", m.Key, requested[ref])
		if hung[ref] {
			require.Equal(t, models.MessageUncertain, m.State, "hung %s: %s", m.Key, m.Reason)
			require.Zero(t, vonage.count(ref))
			continue
		}
		require.Equal(t, models.MessageSent, m.State, "%s: %s", m.Key, m.Reason)
		require.Equal(t, 1, vonage.count(ref), m.Key)
	}
	arrivals := vonage.arrivalTimes()
	require.Len(t, arrivals, n)
	busiest := testkit.MaxInWindow(arrivals, time.Second)
	t.Logf("20%% of requests hanging (VONAGE_TIMEOUT %s), two workers: busiest second %d (rate %d); achieved %.2f/s, configured %d/s",
		timeout, busiest, rate, achievedRate(arrivals), rate)
	require.LessOrEqual(t, busiest, rate)
}
