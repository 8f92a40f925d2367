package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/relance/relance/app"
	"github.com/relance/relance/channels/email"
	"github.com/relance/relance/channels/sms"
	"github.com/relance/relance/devsink"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/workflows"
)

// crashBundleWindow is the bundle window of the crash test's worker: long
// enough that every journey has queued its steps before its customer's
// bundle sends (the SMS steps are queued by activities on the SMS queue,
// at the SMS rate of one a second).
const crashBundleWindow = 20 * time.Second

// TestCrashBundleExactlyOnce: six customers with two invoices each, whose
// final reminder and SMS fall due at once, so that each customer's bundle
// sends one email (its letter is skipped: no postal address) and one SMS,
// behind an SMS rate of one a second. The `relance worker` process is
// SIGKILLed while bundles are being sent, at the three points the other
// crash tests use, all at once:
//   - in flight: the first bundle email to arrive is held by the SMTP
//     server, which accepts it after the worker died;
//   - after the provider answered: the Vonage stand-in accepted the first
//     bundle SMS and holds its HTTP answer until the worker died;
//   - waiting for the SMS rate limiter: other bundles' SMS rows are queued.
//
// A second worker retries the bundles once their heartbeat times out.
// Counted at the servers: no customer got its bundle twice (one email, one
// SMS each); the two messages the provider had when the worker died are
// uncertain and were received once, never resent; the SMS that waited for
// the limiter were sent once, not marked uncertain; every journey's steps
// were answered from the one bundle.
func TestCrashBundleExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a worker process and waits out the one-minute heartbeat timeout")
	}
	const customers, perCustomer, rate = 6, 2, 1
	bin := buildRelance(t)
	gdb, dbURL := testkit.PostgresWithURL(t)
	dev, tc := testkit.DevServer(t)
	mailSrv := startPickSMTP(t)
	vonage := newPickVonage(t)

	f := seedJourney(t, gdb, customers, []models.JourneyStep{
		{Position: 0, OffsetDays: 0, Kind: string(policy.StepFinalReminder), Template: "default"},
		{Position: 1, OffsetDays: 0, Kind: string(policy.StepSMS), Template: "default"},
	})
	// seedJourney turns bundling off for the per-invoice crash tests.
	require.NoError(t, gdb.Model(&f.adm).Update("bundling", models.BundlingOn).Error)
	require.NoError(t, gdb.First(&f.adm, f.adm.ID).Error)
	require.Equal(t, models.BundlingOn, f.adm.Bundling)
	// A second invoice per customer, so that each bundle is a bundle.
	invoices := addInvoices(t, gdb, f, perCustomer-1)

	env := []string{
		"DATABASE_URL=" + dbURL,
		"TEMPORAL_ADDRESS=" + dev.FrontendHostPort(),
		"TEMPORAL_NAMESPACE=default",
		"RELANCE_DAY=" + crashDay.String(),
		bundleWindowEnv + "=" + crashBundleWindow.String(),
		"RELANCE_LOG_LEVEL=info",
		"RELANCE_WORKER_LISTEN=127.0.0.1:0",
		"RELANCE_PUBLIC_URL=http://portal.test",
		"RELANCE_PORTAL_SECRET=crash-test-portal-secret",
		"SMTP_HOST=127.0.0.1",
		"SMTP_PORT=" + strconv.Itoa(mailSrv.port()),
		"SMTP_TLS=none",
		"SMTP_USERNAME=",
		"SMTP_TIMEOUT=5m", // the held message must outlive the worker, not the client's patience
		"SMTP_FROM=" + crashFrom,
		"VONAGE_BASE_URL=" + vonage.url,
		"VONAGE_API_KEY=crash",
		"VONAGE_API_SECRET=crash-secret",
		"VONAGE_RATE_PER_SECOND=" + strconv.Itoa(rate),
		// The dead worker's SMS request holds the shared limiter's one slot
		// until its timeout (docs/channels.md): short, so that the next
		// worker is not kept waiting for minutes.
		"VONAGE_TIMEOUT=20s",
		"LETTERS_PROVIDER=folder",
		"LETTERS_DIR=" + t.TempDir(),
	}
	w1 := startWorker(t, bin, env, "worker-1")
	for _, inv := range invoices {
		started, err := app.New(app.Options{Temporal: tc}).StartJourney(context.Background(), &f.adm, f.customer(inv), &inv)
		require.NoError(t, err)
		require.True(t, started)
	}

	// --- The kill, with a bundle email in flight, a bundle SMS accepted and
	// its answer held, and other bundles' SMS waiting for the limiter. ---
	heldMail := mailSrv.waitHeld(t)
	heldSMS := vonage.waitHeld(t)
	require.Eventually(t, func() bool { return countState(t, gdb, models.MessageQueued) >= 1 }, testkit.Patience, 20*time.Millisecond,
		"no bundle SMS waited for the rate limiter")
	w1.kill(t)
	queuedAtKill := queuedSMS(t, gdb)
	// What was being sent when the worker died: the two held messages, and
	// any other whose provider call was under way at that instant.
	var sendingAtKill []string
	require.NoError(t, gdb.Model(&models.Message{}).Where("state IN ?", []models.MessageState{models.MessageSending, models.MessageUncertain}).
		Pluck("key", &sendingAtKill).Error)
	t.Logf("at the kill: email %s held in flight, SMS %s accepted with its answer held, %d SMS queued behind the rate, %d SMS accepted",
		heldMail, heldSMS, len(queuedAtKill), vonage.total())
	mailSrv.release(t, heldMail, true) // the server accepts it after the worker died
	vonage.answerLater.release(t, heldSMS, true)

	startWorker(t, bin, env, "worker-2")
	// Every journey's steps are answered from its customer's bundle.
	settled := func() bool {
		var n int64
		require.NoError(t, gdb.Model(&models.BundleRequest{}).Where("state = ?", models.BundleSent).Count(&n).Error)
		return int(n) == len(invoices)*2
	}
	deadline := time.Now().Add(4 * time.Minute)
	for !settled() {
		if time.Now().After(deadline) {
			pendingBundles(t, tc, f)
			t.Fatal("not every bundled step was sent")
		}
		time.Sleep(250 * time.Millisecond)
	}
	for _, inv := range invoices {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		var res workflows.JourneyResult
		err := tc.GetWorkflow(ctx, inv.WorkflowID, "").Get(ctx, &res)
		cancel()
		require.NoError(t, err, inv.WorkflowID)
		require.Equal(t, workflows.OutcomeCompleted, res.Outcome, inv.WorkflowID)
	}

	// --- Counted at the servers. ---
	var rows []models.Message
	require.NoError(t, gdb.Order("id").Find(&rows).Error)
	states := map[models.MessageState]int{}
	uncertain := map[string]bool{}
	requested := vonage.requested()
	for _, m := range rows {
		states[m.State]++
		var n int
		switch m.Channel {
		case string(policy.ChannelEmail):
			n = mailSrv.count(email.MessageID(m.Key, crashFrom))
		case string(policy.ChannelSMS):
			ref := sms.ClientRef(m.Key)
			n = vonage.count(ref)
			require.LessOrEqual(t, requested[ref], 1, "SMS %s requested %d times", m.Key, requested[ref])
		default:
			require.Equal(t, models.MessageSkipped, m.State, "row %s on channel %s (no postal address)", m.Key, m.Channel)
		}
		switch m.State {
		case models.MessageSent:
			require.Equal(t, 1, n, "sent row %s received %d times", m.Key, n)
			require.NotEmpty(t, m.ProviderID, m.Key)
		case models.MessageUncertain:
			require.LessOrEqual(t, n, 1, "uncertain row %s received %d times", m.Key, n)
			require.NotEmpty(t, m.Reason, "uncertain row %s has no reason", m.Key)
			require.Equal(t, 1, m.Attempts, "uncertain row %s was claimed for sending more than once", m.Key)
			uncertain[m.Key] = true
		case models.MessageSkipped:
			require.Zero(t, n, "skipped row %s received %d times", m.Key, n)
		default:
			t.Errorf("row %s ended %s (%s)", m.Key, m.State, m.Reason)
		}
	}
	// The two the provider had at the kill are uncertain; an uncertain row
	// is one that was being sent at the kill, never one that waited for
	// the limiter.
	heldKeys := map[string]bool{}
	for _, m := range rows {
		if (m.Channel == string(policy.ChannelEmail) && email.MessageID(m.Key, crashFrom) == heldMail) ||
			(m.Channel == string(policy.ChannelSMS) && sms.ClientRef(m.Key) == heldSMS) {
			heldKeys[m.Key] = true
			require.True(t, uncertain[m.Key], "held row %s ended %s, not uncertain", m.Key, m.State)
		}
	}
	require.Len(t, heldKeys, 2, "the held email's and SMS's rows")
	for k := range uncertain {
		require.Contains(t, sendingAtKill, k, "uncertain row %s was not being sent at the kill", k)
	}
	for ref := range queuedAtKill {
		require.Equal(t, 1, vonage.count(ref), "an SMS queued behind the limiter at the kill was not sent once")
	}
	// No bundle twice: per customer, one bundle, one email and one SMS.
	for _, c := range f.customers {
		var keys []string
		require.NoError(t, gdb.Model(&models.BundleRequest{}).Where("customer_id = ? AND state = ?", c.ID, models.BundleSent).
			Distinct().Pluck("bundle_key", &keys).Error)
		require.Len(t, keys, 1, "customer %s: one bundle", c.ExternalRef)
		require.Equal(t, 1, mailSrv.rcpts.count(c.Email), "customer %s: emails received", c.ExternalRef)
		require.Equal(t, 1, vonage.to(c.Mobile), "customer %s: SMS received", c.ExternalRef)
	}
	require.Equal(t, customers, mailSrv.total(), "emails received")
	require.Equal(t, customers, vonage.total(), "SMS received")
	require.Equal(t, customers*2-len(uncertain), states[models.MessageSent], "sent rows (one email and one SMS per bundle, the uncertain aside): %v", states)
	arrivals := vonage.arrivalTimes()
	t.Logf("busiest second at the Vonage stand-in: %d (rate %d); achieved %.2f/s over %d requests, a kill and a heartbeat timeout in between",
		testkit.MaxInWindow(arrivals, time.Second), rate, achievedRate(arrivals), len(arrivals))
	require.LessOrEqual(t, testkit.MaxInWindow(arrivals, time.Second), rate)
}

// addInvoices gives each customer of the fixture n more invoices due today
// and returns all the fixture's invoices, a customer's together.
func addInvoices(t *testing.T, gdb *gorm.DB, f *crashFixture, n int) []models.Invoice {
	t.Helper()
	var out []models.Invoice
	for _, first := range f.invoices {
		out = append(out, first)
		for k := range n {
			num := fmt.Sprintf("%s-%d", first.Number, k+2)
			inv := models.Invoice{AdministrationID: f.adm.ID, CustomerID: first.CustomerID, Number: num, IssueDate: first.IssueDate, DueDate: first.DueDate,
				Currency: "EUR", AmountMinor: 7500 + int64(k), OpenMinor: 7500 + int64(k), Status: models.InvoiceOpen,
				Stage: "scheduled", WorkflowID: workflows.InvoiceWorkflowID(f.adm.ID, num)}
			require.NoError(t, gdb.Create(&inv).Error)
			out = append(out, inv)
		}
	}
	return out
}

// queuedSMS returns the SMS rows waiting for the rate limiter, by client-ref.
func queuedSMS(t *testing.T, gdb *gorm.DB) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for ref, m := range smsRows(t, gdb) {
		if m.State == models.MessageQueued {
			out[ref] = true
		}
	}
	return out
}

// pickSMTP is a loopback SMTP server that counts the messages it accepts by
// Message-ID and by recipient, and holds the first message to arrive (its
// Message-ID is not known beforehand: a bundle's outbox key carries its
// run) until the test decides.
type pickSMTP struct {
	*holds
	counter
	rcpts counter
	addr  string

	mu     sync.Mutex
	heldID string
	seen   chan struct{}
}

func startPickSMTP(t *testing.T) *pickSMTP {
	t.Helper()
	c := &pickSMTP{holds: newHolds(), seen: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &pickSession{srv: c}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Minute, 5*time.Minute
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	c.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	t.Cleanup(c.holds.releaseAll)
	return c
}

func (c *pickSMTP) port() int {
	_, p, _ := net.SplitHostPort(c.addr)
	n, _ := strconv.Atoi(p)
	return n
}

// pick holds id if it is the first message to arrive.
func (c *pickSMTP) pick(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.heldID != "" {
		return
	}
	c.heldID = id
	c.holds.hold(id)
	close(c.seen)
}

// waitHeld waits until the first message is held and returns its Message-ID.
func (c *pickSMTP) waitHeld(t *testing.T) string {
	t.Helper()
	select {
	case <-c.seen:
	case <-time.After(2 * time.Minute):
		t.Fatal("no email reached the SMTP server")
	}
	c.mu.Lock()
	id := c.heldID
	c.mu.Unlock()
	c.holds.waitHeld(t, id)
	return id
}

type pickSession struct {
	srv   *pickSMTP
	rcpts []string
}

func (s *pickSession) Reset()                               { s.rcpts = nil }
func (s *pickSession) Logout() error                        { return nil }
func (s *pickSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *pickSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, strings.ToLower(to))
	return nil
}

// Data reads the whole message, then counts it unless it is the held one
// and the test refuses it.
func (s *pickSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "unreadable message"}
	}
	id := msg.Header.Get("Message-Id")
	s.srv.pick(id)
	if !s.srv.wait(id) {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "not accepted"}
	}
	s.srv.add(id)
	for _, to := range s.rcpts {
		s.srv.rcpts.add(to)
	}
	return nil
}

// pickVonage fronts devsink.VonageSink (the wire format, Vonage's answers):
// the first SMS it accepts has its HTTP answer held until the test decides
// (the provider has it; the worker waits for the answer). It records every
// request by client-ref and when it arrived.
type pickVonage struct {
	sink        *devsink.VonageSink
	url         string
	answerLater *holds

	mu       sync.Mutex
	heldRef  string
	seen     chan struct{}
	arrivals []time.Time
	requests map[string]int
}

func newPickVonage(t *testing.T) *pickVonage {
	t.Helper()
	v := &pickVonage{sink: &devsink.VonageSink{APIKey: "crash", APISecret: "crash-secret"}, answerLater: newHolds(),
		seen: make(chan struct{}), requests: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(v.serve))
	t.Cleanup(srv.Close)
	t.Cleanup(v.sink.Close)
	t.Cleanup(v.answerLater.releaseAll)
	v.url = srv.URL
	return v
}

func (v *pickVonage) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	form, _ := url.ParseQuery(string(body))
	ref := form.Get("client-ref")
	v.mu.Lock()
	v.arrivals = append(v.arrivals, time.Now())
	v.requests[ref]++
	if v.heldRef == "" {
		v.heldRef = ref
		v.answerLater.hold(ref)
		close(v.seen)
	}
	v.mu.Unlock()
	// The sink records it even when the client is gone.
	req := r.Clone(context.WithoutCancel(r.Context()))
	req.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	v.sink.ServeHTTP(rec, req)
	v.answerLater.wait(ref)
	for k, vals := range rec.Header() {
		w.Header()[k] = vals
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// waitHeld waits until the first SMS was accepted and its answer is held,
// and returns its client-ref.
func (v *pickVonage) waitHeld(t *testing.T) string {
	t.Helper()
	select {
	case <-v.seen:
	case <-time.After(2 * time.Minute):
		t.Fatal("no SMS reached the Vonage stand-in")
	}
	v.mu.Lock()
	ref := v.heldRef
	v.mu.Unlock()
	v.answerLater.waitHeld(t, ref)
	return ref
}

func (v *pickVonage) count(ref string) int {
	n := 0
	for _, m := range v.sink.Messages() {
		if m.ClientRef == ref {
			n++
		}
	}
	return n
}

// to counts the SMS accepted for a mobile number (E.164, with or without +).
func (v *pickVonage) to(mobile string) int {
	n := 0
	for _, m := range v.sink.Messages() {
		if m.To == strings.TrimPrefix(mobile, "+") {
			n++
		}
	}
	return n
}

func (v *pickVonage) total() int { return len(v.sink.Messages()) }

func (v *pickVonage) arrivalTimes() []time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]time.Time(nil), v.arrivals...)
}

func (v *pickVonage) requested() map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]int, len(v.requests))
	for k, n := range v.requests {
		out[k] = n
	}
	return out
}

// pendingBundles logs what the customers' bundle workflows wait for (a
// failing test's diagnosis).
func pendingBundles(t *testing.T, tc client.Client, f *crashFixture) {
	t.Helper()
	for _, c := range f.customers {
		id := workflows.BundleWorkflowID(f.adm.ID, c.ID, "EUR")
		d, err := tc.DescribeWorkflowExecution(context.Background(), id, "")
		if err != nil {
			t.Logf("%s: %v", id, err)
			continue
		}
		t.Logf("%s: %s", id, d.GetWorkflowExecutionInfo().GetStatus())
		for _, a := range d.GetPendingActivities() {
			t.Logf("  %s attempt %d state %s last worker %s failure %v", a.GetActivityType().GetName(), a.GetAttempt(), a.GetState(),
				a.GetLastWorkerIdentity(), a.GetLastFailure().GetMessage())
		}
	}
}
