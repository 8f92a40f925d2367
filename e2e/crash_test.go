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
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
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

// Crash-test journey: day 0 the invoice (email) and an SMS; a reminder long
// enough after it that the sends cut off by the first kill have been retried
// (the send activity's heartbeat timeout is one minute and the workflow code
// is not changed for a test); then the final reminder with its SMS and the
// hand-over to collection (email and SMS), close together.
const (
	crashDay       = 2 * time.Second
	reminderOffset = 45 // 90 s: after the retries of the cut-off sends (~65 s)
	finalOffset    = reminderOffset + 4
	collectOffset  = finalOffset + 4
	crashFrom      = "ar@crash.example"
)

// TestCrashExactlyOnce is issue 4's acceptance: a real `relance worker`
// process is SIGKILLed in the middle of sending and, later, between steps;
// new worker processes finish the journeys. Counted at the servers, every
// message went out exactly once, or, where the worker died with the message
// in the provider's hands, its outbox row says uncertain and it was received
// at most once, never twice.
//
// First kill, in the middle of sending (day 0 of three journeys A, B, C):
//   - A's invoice email: the SMTP server has the whole message when the
//     worker dies and then refuses it (the provider never accepted it);
//   - B's invoice email: the server accepts it after the worker died (the
//     window no protocol closes: accepted, never recorded as sent);
//   - C's SMS: the Vonage stand-in accepts it after the worker died.
//
// The other day-0 messages were sent and recorded before the kill. Worker 2
// retries the cut-off sends once their heartbeat times out: it finds the
// three rows left `sending`, marks them uncertain, and does not send them
// again.
//
// Second kill, between steps: once every journey has sent its reminder and
// sleeps until the final reminder, worker 2 is killed; the final reminder
// falls due while no worker runs; worker 3 sends it exactly once.
//
// Third stop, graceful, in the middle of sending: worker 3 gets SIGTERM
// while the SMTP server holds A's collection email; the worker lets the send
// finish (worker.DefaultStopTimeout) and exits; its row says sent. Worker 4
// finishes the journeys.
//
// Only the first kill waits: the cut-off sends are retried when their
// heartbeat times out (one minute, sendOptions in workflows/journey.go, not
// changed for a test), which is why the reminder comes 90 s after day 0.
// The whole test takes about two minutes.
func TestCrashExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("kills worker processes and waits out a one-minute heartbeat timeout")
	}
	bin := buildRelance(t)
	gdb, dbURL := testkit.PostgresWithURL(t)
	dev, tc := testkit.DevServer(t)
	mailSrv := startCountingSMTP(t)
	vonage := newCountingVonage(t)

	f := seedCrash(t, gdb, 3)
	a, b, c := f.invoices[0], f.invoices[1], f.invoices[2]
	emailKey := func(inv models.Invoice, offset int, kind policy.StepKind) string {
		return fmt.Sprintf("%s/%d/%s/email", inv.WorkflowID, offset, kind)
	}
	smsKey := func(inv models.Invoice, offset int, kind policy.StepKind) string {
		return fmt.Sprintf("%s/%d/%s/sms", inv.WorkflowID, offset, kind)
	}
	dropA := email.MessageID(emailKey(a, 0, policy.StepInvoice), crashFrom)
	acceptB := email.MessageID(emailKey(b, 0, policy.StepInvoice), crashFrom)
	acceptC := sms.ClientRef(smsKey(c, 0, policy.StepSMS))
	// Held at the third stop, a graceful one (SIGTERM, as a deploy does).
	termA := email.MessageID(emailKey(a, finalOffset, policy.StepFinalReminder), crashFrom)
	mailSrv.hold(dropA)
	mailSrv.hold(acceptB)
	mailSrv.hold(termA)
	vonage.hold(acceptC)

	env := []string{
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
		"SMTP_TIMEOUT=5m", // the held message must outlive the worker, not the client's patience
		"SMTP_FROM=" + crashFrom,
		"VONAGE_BASE_URL=" + vonage.url,
		"VONAGE_API_KEY=crash",
		"VONAGE_API_SECRET=crash-secret",
		"LETTERS_PROVIDER=folder",
		"LETTERS_DIR=" + t.TempDir(),
	}
	w1 := startWorker(t, bin, env, "worker-1")
	for _, inv := range f.invoices {
		started, err := app.New(app.Options{Temporal: tc}).StartJourney(context.Background(), &f.adm, f.customer(inv), &inv)
		require.NoError(t, err)
		require.True(t, started)
	}

	// --- Kill 1: in the middle of sending. ---
	mailSrv.waitHeld(t, dropA, acceptB)
	vonage.waitHeld(t, acceptC)
	// The day-0 messages that are not held went out and were recorded.
	normal := []string{smsKey(a, 0, policy.StepSMS), smsKey(b, 0, policy.StepSMS), emailKey(c, 0, policy.StepInvoice)}
	require.Eventually(t, func() bool { return allInState(t, gdb, normal, models.MessageSent) }, testkit.Patience, 100*time.Millisecond,
		"the day-0 messages that are not held were not recorded sent")
	held := []string{emailKey(a, 0, policy.StepInvoice), emailKey(b, 0, policy.StepInvoice), smsKey(c, 0, policy.StepSMS)}
	require.True(t, allInState(t, gdb, held, models.MessageSending), "the held messages' rows should say sending")
	vonage.killing.Store(true)
	w1.kill(t)
	require.False(t, vonage.gaveUpEarly.Load(), "the SMS client gave up on the held SMS before the worker was killed: the test did not exercise a kill in the middle of sending")
	mailSrv.release(t, dropA, false) // refused: the provider never had it
	mailSrv.release(t, acceptB, true)
	vonage.release(t, acceptC, true)

	w2 := startWorker(t, bin, env, "worker-2")
	// The cut-off sends are retried once their heartbeat times out (one
	// minute, set by the workflow): the retry finds their rows `sending`.
	require.Eventually(t, func() bool { return allInState(t, gdb, held, models.MessageUncertain) }, 3*time.Minute, 250*time.Millisecond,
		"the retries of the cut-off sends did not mark them uncertain")
	for _, k := range held {
		row := messageRow(t, gdb, k)
		require.NotEmpty(t, row.Reason, "uncertain row %s has no reason", k)
		require.Equal(t, 1, row.Attempts, "uncertain row %s was claimed for sending more than once", k)
		require.Empty(t, row.ProviderID, k)
	}
	require.Equal(t, 0, mailSrv.count(dropA), "A's invoice was refused by the server")
	require.Equal(t, 1, mailSrv.count(acceptB), "B's invoice was accepted once, after the kill")
	require.Equal(t, 1, vonage.count(acceptC), "C's SMS was accepted once, after the kill")

	// --- Kill 2: between steps. ---
	// Wait until every journey has sent its reminder and the workflow has
	// taken the result in (the query shows the reminder sent).
	var finalAt time.Time
	require.Eventually(t, func() bool {
		for _, inv := range f.invoices {
			st, err := app.New(app.Options{Temporal: tc}).JourneyState(context.Background(), inv.WorkflowID)
			if err != nil {
				return false
			}
			reminder, final := stepAt(st, reminderOffset), stepAt(st, finalOffset)
			if reminder == nil || final == nil || reminder.Status != workflows.StepSent || final.Status != workflows.StepPlanned {
				return false
			}
			if final.At.After(finalAt) {
				finalAt = final.At
			}
		}
		return true
	}, 3*time.Minute, 250*time.Millisecond, "the reminders were not sent")
	w2.kill(t)
	// The kill fell between steps: nothing was in flight and the final
	// reminder had not started.
	var inFlight int64
	require.NoError(t, gdb.Model(&models.Message{}).Where("state IN ?", []models.MessageState{models.MessageQueued, models.MessageSending}).Count(&inFlight).Error)
	require.Zero(t, inFlight, "a message was in flight at the second kill")
	require.Zero(t, rowsLike(t, gdb, fmt.Sprintf("%%/%d/%%", finalOffset)), "the final reminder started before the second kill")
	// Let the final reminder fall due while no worker runs.
	for time.Now().Before(finalAt.Add(crashDay)) {
		time.Sleep(100 * time.Millisecond)
	}
	require.Zero(t, rowsLike(t, gdb, fmt.Sprintf("%%/%d/%%", finalOffset)), "something sent while no worker ran")

	w3 := startWorker(t, bin, env, "worker-3")

	// --- Stop 3: SIGTERM in the middle of sending. ---
	// A graceful stop lets the send in flight finish (worker.Options
	// StopTimeout) instead of cancelling it while the provider holds the
	// message, which would leave the row queued and resend it.
	mailSrv.waitHeld(t, termA)
	w3.terminate(t)
	mailSrv.release(t, termA, true)
	w3.waitExit(t)
	termRow := messageRow(t, gdb, emailKey(a, finalOffset, policy.StepFinalReminder))
	require.Equal(t, models.MessageSent, termRow.State, "the send in flight at SIGTERM was not allowed to finish: %s", termRow.Reason)
	require.Equal(t, 1, mailSrv.count(termA))

	startWorker(t, bin, env, "worker-4")
	for _, inv := range f.invoices {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		var res workflows.JourneyResult
		err := tc.GetWorkflow(ctx, inv.WorkflowID, "").Get(ctx, &res)
		cancel()
		require.NoError(t, err, inv.WorkflowID)
		require.Equal(t, workflows.OutcomeCollection, res.Outcome, inv.WorkflowID)
		require.Equal(t, 3, res.Sent, "%s: the three days with messages (day 0, reminder, final reminder)", inv.WorkflowID)
		st, err := app.New(app.Options{Temporal: tc}).JourneyState(context.Background(), inv.WorkflowID)
		require.NoError(t, err)
		for _, s := range st.Steps {
			if s.Kind == policy.StepCollection {
				require.Equal(t, workflows.ReasonHandedOver, s.Reason, "%s: the collection step hands over to the case", inv.WorkflowID)
				continue
			}
			require.Equal(t, workflows.StepSent, s.Status, "%s step %d %s: %s", inv.WorkflowID, s.OffsetDays, s.Kind, s.Reason)
		}
	}
	// Each customer's case sends its notice of default (email, SMS; the
	// letter is skipped): wait until all three are recorded.
	require.Eventually(t, func() bool {
		var n int64
		require.NoError(t, gdb.Model(&models.Message{}).Where("key LIKE ? AND state IN ?", "case:%/notice_of_default/%",
			[]models.MessageState{models.MessageSent, models.MessageSkipped}).Count(&n).Error)
		return n == 3*3
	}, 3*time.Minute, 250*time.Millisecond, "the cases' notices were not sent")

	// --- Counted at the servers. ---
	var rows []models.Message
	require.NoError(t, gdb.Order("id").Find(&rows).Error)
	emailByID := map[string]string{}
	smsByRef := map[string]string{}
	states := map[models.MessageState]int{}
	for _, m := range rows {
		states[m.State]++
		var n int
		switch m.Channel {
		case string(policy.ChannelEmail):
			id := email.MessageID(m.Key, crashFrom)
			emailByID[id] = m.Key
			n = mailSrv.count(id)
		case string(policy.ChannelSMS):
			ref := sms.ClientRef(m.Key)
			smsByRef[ref] = m.Key
			n = vonage.count(ref)
		default:
			require.Equal(t, models.MessageSkipped, m.State, "row %s on channel %s", m.Key, m.Channel)
		}
		switch m.State {
		case models.MessageSent:
			require.Equal(t, 1, n, "sent row %s received %d times", m.Key, n)
			require.NotEmpty(t, m.ProviderID, m.Key)
		case models.MessageUncertain:
			require.LessOrEqual(t, n, 1, "uncertain row %s received %d times", m.Key, n)
		case models.MessageSkipped:
			require.Zero(t, n, "skipped row %s received %d times", m.Key, n)
		default:
			t.Errorf("row %s ended %s (%s)", m.Key, m.State, m.Reason)
		}
	}
	for id, n := range mailSrv.counts() {
		require.Contains(t, emailByID, id, "the SMTP server received a message no outbox row sent")
		require.Equal(t, 1, n, "email %s (%s) received %d times", emailByID[id], id, n)
	}
	for ref, n := range vonage.counts() {
		require.Contains(t, smsByRef, ref, "Vonage received an SMS no outbox row sent")
		require.Equal(t, 1, n, "SMS %s received %d times", ref, n)
	}
	// Per customer: 4 emails (invoice, reminder, final reminder, the case's
	// notice of default) and 3 SMS (day 0, beside the final reminder, the
	// notice's); no postal address, so the final reminder's and the
	// notice's letters are skipped rows.
	require.Equal(t, 3, states[models.MessageUncertain], "uncertain rows")
	require.Equal(t, 3*7-3, states[models.MessageSent], "sent rows")
	require.Equal(t, 3*2, states[models.MessageSkipped], "skipped rows (no postal address)")
	require.Len(t, rows, 3*9)
	require.Equal(t, 3*4-1, mailSrv.total(), "emails received: all but A's refused invoice")
	require.Equal(t, 3*3, vonage.total(), "SMS received")
}

// crashFixture is the seeded administration, customers and invoices.
type crashFixture struct {
	adm       models.Administration
	customers []models.Customer
	invoices  []models.Invoice
}

func (f *crashFixture) customer(inv models.Invoice) *models.Customer {
	for i := range f.customers {
		if f.customers[i].ID == inv.CustomerID {
			return &f.customers[i]
		}
	}
	return nil
}

// seedCrash seeds n customers whose journey is the crash journey.
func seedCrash(t *testing.T, gdb *gorm.DB, n int) *crashFixture {
	t.Helper()
	return seedJourney(t, gdb, n, []models.JourneyStep{
		{Position: 0, OffsetDays: 0, Kind: string(policy.StepInvoice), Template: "default"},
		{Position: 1, OffsetDays: 0, Kind: string(policy.StepSMS), Template: "default"},
		{Position: 2, OffsetDays: reminderOffset, Kind: string(policy.StepReminder), Template: "default"},
		{Position: 3, OffsetDays: finalOffset, Kind: string(policy.StepFinalReminder), Template: "default"},
		{Position: 4, OffsetDays: finalOffset, Kind: string(policy.StepSMS), Template: "default"},
		{Position: 5, OffsetDays: collectOffset, Kind: string(policy.StepCollection), Template: "default"},
	})
}

// seedJourney creates an administration whose default journey has the
// given steps, and n customers (email and mobile, no postal address) with
// one invoice each, due today.
func seedJourney(t *testing.T, gdb *gorm.DB, n int, steps []models.JourneyStep) *crashFixture {
	t.Helper()
	f := &crashFixture{}
	org := models.Organization{Name: "Crash", InboxRead: models.ReadManually}
	require.NoError(t, gdb.Create(&org).Error)
	settings := models.DefaultAdministrationSettings()
	settings.SMSEnabled = true
	// The collection step hands each invoice over to its customer's case,
	// whose notice of default goes at once; its later stages stay beyond
	// the test.
	settings.CaseStageDays = 90
	// The per-invoice outbox keys are what these tests hold and count; the
	// bundles have their own crash test (crash_bundle_test.go).
	settings.Bundling = models.BundlingOff
	f.adm = models.Administration{OrganizationID: org.ID, Name: "Crash BV", Country: "NL", TimeZone: "Europe/Amsterdam",
		Currency: "EUR", Language: "en", AdministrationSettings: settings,
		CompanyDetails: models.CompanyDetails{CompanyName: "Crash BV", SenderEmail: crashFrom, CompanyAddress: "Main 1\n1000 AA Amsterdam",
			BankDetails: "IBAN NL91 ABNA 0417 1643 00", LatePenaltyRate: "8%", UserName: "Sanne Jansen", UserEmail: "sanne@example.com", UserPhone: "+31 20 123 4568"}}
	require.NoError(t, gdb.Create(&f.adm).Error)
	j := models.Journey{AdministrationID: f.adm.ID, Name: "Crash", MinGapDays: 1, Steps: steps}
	require.NoError(t, gdb.Create(&j).Error)
	require.NoError(t, gdb.Model(&f.adm).Update("default_journey_id", j.ID).Error)

	loc, err := time.LoadLocation(f.adm.TimeZone)
	require.NoError(t, err)
	y, m, d := time.Now().In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
	for i := range n {
		name := string(rune('A' + i))
		cust := models.Customer{AdministrationID: f.adm.ID, ExternalRef: "CRASH-" + name, Name: "Customer " + name, Language: "en",
			Email: strings.ToLower(name) + "@customer.example", Phone: fmt.Sprintf("06 1234567%d", i), Mobile: fmt.Sprintf("+316123%05d", i),
			Country: "NL", CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: "crash-" + name + "-" + suffix}
		require.NoError(t, gdb.Create(&cust).Error)
		f.customers = append(f.customers, cust)
		num := fmt.Sprintf("CRASH-%s-%s", name, suffix)
		inv := models.Invoice{AdministrationID: f.adm.ID, CustomerID: cust.ID, Number: num, IssueDate: today, DueDate: today,
			Currency: "EUR", AmountMinor: 12500 + int64(i), OpenMinor: 12500 + int64(i), Status: models.InvoiceOpen,
			Stage: "scheduled", WorkflowID: workflows.InvoiceWorkflowID(f.adm.ID, num)}
		require.NoError(t, gdb.Create(&inv).Error)
		f.invoices = append(f.invoices, inv)
	}
	return f
}

func stepAt(st workflows.JourneyState, offset int) *workflows.StepState {
	for i := range st.Steps {
		if st.Steps[i].OffsetDays == offset && st.Steps[i].Kind != policy.StepSMS {
			return &st.Steps[i]
		}
	}
	return nil
}

func messageRow(t *testing.T, gdb *gorm.DB, key string) models.Message {
	t.Helper()
	var m models.Message
	require.NoError(t, gdb.First(&m, "key = ?", key).Error, key)
	return m
}

func allInState(t *testing.T, gdb *gorm.DB, keys []string, state models.MessageState) bool {
	t.Helper()
	var n int64
	require.NoError(t, gdb.Model(&models.Message{}).Where("key IN ? AND state = ?", keys, state).Count(&n).Error)
	return int(n) == len(keys)
}

func rowsLike(t *testing.T, gdb *gorm.DB, pattern string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, gdb.Model(&models.Message{}).Where("key LIKE ?", pattern).Count(&n).Error)
	return n
}

// buildRelance builds the relance binary into a temporary folder.
func buildRelance(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err, "the e2e tests run from the e2e folder of the module")
	bin := filepath.Join(t.TempDir(), "relance")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/relance")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build ./cmd/relance:\n%s", out)
	return bin
}

// workerProc is a `relance worker` (or `relance api`) process.
type workerProc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // cmd.Wait's, once done is closed
	log  string
}

// startWorker runs `relance worker` with env; its output goes to a file
// that is printed if the test fails. The process is stopped at the end of
// the test if it still runs.
func startWorker(t *testing.T, bin string, env []string, name string) *workerProc {
	t.Helper()
	return startRelance(t, bin, env, name, "worker")
}

// startRelance runs `relance <args>` (a worker, the API) as startWorker
// does.
func startRelance(t *testing.T, bin string, env []string, name string, args ...string) *workerProc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start(), "start %s", name)
	w := &workerProc{name: name, cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() {
		w.err = cmd.Wait()
		_ = logFile.Close()
		close(w.done)
	}()
	t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-w.done:
			case <-time.After(15 * time.Second):
				_ = cmd.Process.Kill()
				<-w.done
			}
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 20000 {
				b = b[len(b)-20000:]
			}
			t.Logf("--- %s log (tail) ---\n%s", name, b)
		}
	})
	return w
}

// kill SIGKILLs the worker, as a crash or an OOM kill would, and waits
// until the process is gone.
func (w *workerProc) kill(t *testing.T) {
	t.Helper()
	select {
	case <-w.done:
		t.Fatalf("%s had already exited before it was killed (see its log)", w.name)
	default:
	}
	require.NoError(t, w.cmd.Process.Signal(syscall.SIGKILL))
	<-w.done
	t.Logf("%s killed", w.name)
}

// terminate sends SIGTERM and waits until the worker says it is stopping.
func (w *workerProc) terminate(t *testing.T) {
	t.Helper()
	require.NoError(t, w.cmd.Process.Signal(syscall.SIGTERM))
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(w.log)
		return err == nil && bytes.Contains(b, []byte("worker stopping"))
	}, testkit.Patience, 50*time.Millisecond, "%s did not start stopping after SIGTERM", w.name)
}

// waitExit waits for the worker to exit and requires a clean exit.
func (w *workerProc) waitExit(t *testing.T) {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s did not exit", w.name)
	}
	require.NoError(t, w.err, "%s exit", w.name)
}

// holds makes a test server keep chosen messages, the first time each
// arrives, until the test decides whether the server accepts them.
type holds struct {
	mu sync.Mutex
	m  map[string]*heldMessage
}

type heldMessage struct {
	arrived  chan struct{} // closed when the message reached the server
	decision chan bool     // the test's decision: true accepts
	taken    bool
}

func newHolds() *holds { return &holds{m: map[string]*heldMessage{}} }

func (h *holds) hold(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.m[key] = &heldMessage{arrived: make(chan struct{}), decision: make(chan bool, 1)}
}

// wait blocks the handler of a held message until the test decides, and
// reports the decision; other messages are accepted at once.
func (h *holds) wait(key string) bool {
	h.mu.Lock()
	m, ok := h.m[key]
	if !ok || m.taken {
		h.mu.Unlock()
		return true
	}
	m.taken = true
	close(m.arrived)
	h.mu.Unlock()
	return <-m.decision
}

func (h *holds) get(t *testing.T, key string) *heldMessage {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	m, ok := h.m[key]
	require.True(t, ok, "%s is not held", key)
	return m
}

// waitHeld waits until every held key reached the server.
func (h *holds) waitHeld(t *testing.T, keys ...string) {
	t.Helper()
	for _, k := range keys {
		select {
		case <-h.get(t, k).arrived:
		case <-time.After(2 * time.Minute):
			t.Fatalf("held message %s never reached the server", k)
		}
	}
}

// releaseAll refuses every held message the test has not decided on.
func (h *holds) releaseAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.m {
		select {
		case m.decision <- false:
		default:
		}
	}
}

func (h *holds) release(t *testing.T, key string, accept bool) {
	t.Helper()
	h.get(t, key).decision <- accept
}

// counter counts accepted messages by key.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[key]++
}

func (c *counter) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

func (c *counter) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.n {
		n += v
	}
	return n
}

// countingSMTP is a loopback SMTP server (go-smtp, the protocol the worker's
// sender speaks) that counts the messages it accepts by Message-ID and can
// hold chosen ones after their data arrived, before answering.
type countingSMTP struct {
	*holds
	counter
	addr string
}

func startCountingSMTP(t *testing.T) *countingSMTP {
	t.Helper()
	c := &countingSMTP{holds: newHolds()}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &countingSession{srv: c}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Minute, 5*time.Minute
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	c.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return c
}

func (c *countingSMTP) port() int {
	_, p, _ := net.SplitHostPort(c.addr)
	n, _ := strconv.Atoi(p)
	return n
}

type countingSession struct{ srv *countingSMTP }

func (s *countingSession) Reset()                               {}
func (s *countingSession) Logout() error                        { return nil }
func (s *countingSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *countingSession) Rcpt(string, *smtp.RcptOptions) error { return nil }

// Data reads the whole message (the client has handed it over and waits for
// the reply), then counts it unless the test holds it and refuses it.
func (s *countingSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "unreadable message"}
	}
	id := msg.Header.Get("Message-Id")
	if !s.srv.wait(id) {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "not accepted"}
	}
	s.srv.add(id)
	return nil
}

// countingVonage fronts devsink.VonageSink (which checks the wire format and
// answers like Vonage) with a hold on chosen client-refs; the sink's
// accepted messages are the count.
type countingVonage struct {
	*holds
	sink *devsink.VonageSink
	url  string
	// killing is set just before the kill; gaveUpEarly records a held
	// request whose client went away before it.
	killing, gaveUpEarly atomic.Bool
	// holdNth, when positive, holds the request that arrives holdNth-th
	// (see heldNth); answerLater holds the answer to a request the sink
	// already accepted (its delivery receipt may go out meanwhile).
	holdNth     int
	answerLater *holds

	mu       sync.Mutex
	arrivals []time.Time
	requests map[string]int // every request by client-ref, accepted or not
	nthRef   string
	nthSeen  chan struct{}
}

func newCountingVonage(t *testing.T) *countingVonage {
	t.Helper()
	v := &countingVonage{holds: newHolds(), sink: &devsink.VonageSink{APIKey: "crash", APISecret: "crash-secret"},
		answerLater: newHolds(), requests: map[string]int{}, nthSeen: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(v.serve))
	t.Cleanup(srv.Close)
	t.Cleanup(v.sink.Close)
	// A test that fails while requests are held must not leave their
	// handlers blocked: srv.Close waits for them.
	t.Cleanup(v.holds.releaseAll)
	t.Cleanup(v.answerLater.releaseAll)
	v.url = srv.URL
	return v
}

func (v *countingVonage) serve(w http.ResponseWriter, r *http.Request) {
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
	if v.holdNth > 0 && len(v.arrivals) == v.holdNth {
		v.nthRef = ref
		v.holds.hold(ref)
		close(v.nthSeen)
	}
	v.mu.Unlock()
	watch := make(chan struct{})
	go func() {
		select {
		case <-r.Context().Done():
			select {
			case <-watch: // the handler had its answer first
				return
			default:
			}
			if !v.killing.Load() {
				v.gaveUpEarly.Store(true)
			}
		case <-watch:
		}
	}()
	accept := v.wait(ref)
	close(watch)
	if !accept {
		http.Error(w, "not accepted", http.StatusServiceUnavailable)
		return
	}
	// Accepted: the sink records it even when the client is gone.
	req := r.Clone(context.WithoutCancel(r.Context()))
	req.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	v.sink.ServeHTTP(rec, req)
	// A held answer: the sink accepted the message (and may send its
	// receipt) while the client still waits.
	v.answerLater.wait(ref)
	for k, vals := range rec.Header() {
		w.Header()[k] = vals
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (v *countingVonage) count(ref string) int {
	n := 0
	for _, m := range v.sink.Messages() {
		if m.ClientRef == ref {
			n++
		}
	}
	return n
}

func (v *countingVonage) counts() map[string]int {
	out := map[string]int{}
	for _, m := range v.sink.Messages() {
		out[m.ClientRef]++
	}
	return out
}

func (v *countingVonage) total() int { return len(v.sink.Messages()) }

// heldNth waits for the holdNth-th request and returns its client-ref.
func (v *countingVonage) heldNth(t *testing.T) string {
	t.Helper()
	select {
	case <-v.nthSeen:
	case <-time.After(2 * time.Minute):
		t.Fatalf("request %d never reached the stand-in", v.holdNth)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.nthRef
}

// arrivalTimes returns when each request reached the stand-in, whatever its
// fate: what Vonage counts against the rate.
func (v *countingVonage) arrivalTimes() []time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]time.Time(nil), v.arrivals...)
}

// requested returns how many requests came for each client-ref, accepted,
// refused or hung.
func (v *countingVonage) requested() map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]int, len(v.requests))
	for k, n := range v.requests {
		out[k] = n
	}
	return out
}
