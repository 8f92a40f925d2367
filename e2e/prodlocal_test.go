package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/relance/relance/app"
	"github.com/relance/relance/auth"
	"github.com/relance/relance/channels/email"
	"github.com/relance/relance/channels/sms"
	"github.com/relance/relance/deploy/prodlocal"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/workflows"
)

// prodNamespace is the namespace the prod-local tests register on their
// server (the real server has no default namespace).
const prodNamespace = "relance-e2e"

// prodLocal is the production topology of `make prod-local`, for a test:
// the real Temporal server on its own fresh databases, Relance's database
// reached through a TCP proxy the test owns, `relance api` and two `relance
// worker` processes, sending to counting loopback SMTP and Vonage servers.
type prodLocal struct {
	bin      string
	temporal *prodlocal.Temporal
	tc       client.Client
	gdb      *gorm.DB
	proxy    *testkit.TCPProxy
	mail     *countingSMTP
	vonage   *countingVonage
	env      []string
	apiURL   string
	api      *workerProc
	workers  []*workerProc
	// workerURLs are the workers' health servers (/readyz).
	workerURLs []string
	fx         *crashFixture
	key        string
}

// startProdLocal builds and starts the topology, with an administration
// whose default journey has steps and n customers without invoices.
func startProdLocal(t *testing.T, day time.Duration, steps []models.JourneyStep, n int) *prodLocal {
	t.Helper()
	p := &prodLocal{bin: buildRelance(t)}
	p.temporal = testkit.TemporalServer(t, p.bin, prodNamespace)
	var dbURL string
	p.gdb, dbURL = testkit.PostgresWithURL(t)
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	p.proxy = testkit.NewTCPProxy(t, u.Host)
	u.Host = p.proxy.Addr()
	p.mail = startCountingSMTP(t)
	p.vonage = newCountingVonage(t)
	apiAddr := freeAddr(t)
	p.apiURL = "http://" + apiAddr
	p.env = []string{
		"DATABASE_URL=" + u.String(),
		// Three processes share the machine's PostgreSQL with every other
		// test: small pools (the worker sizes its concurrency to it).
		"RELANCE_DB_MAX_CONNS=6",
		"TEMPORAL_ADDRESS=" + p.temporal.Address(),
		"TEMPORAL_NAMESPACE=" + prodNamespace,
		"RELANCE_DAY=" + day.String(),
		"RELANCE_LOG_LEVEL=info",
		"RELANCE_LISTEN=" + apiAddr,
		"RELANCE_PUBLIC_URL=" + p.apiURL,
		"RELANCE_PORTAL_SECRET=prod-local-portal-secret",
		"SMTP_HOST=127.0.0.1",
		"SMTP_PORT=" + strconv.Itoa(p.mail.port()),
		"SMTP_TLS=none",
		"SMTP_USERNAME=",
		"SMTP_FROM=" + crashFrom,
		"VONAGE_BASE_URL=" + p.vonage.url,
		"VONAGE_API_KEY=crash",
		"VONAGE_API_SECRET=crash-secret",
		"LETTERS_PROVIDER=folder",
		"LETTERS_DIR=" + t.TempDir(),
	}
	migrate := exec.Command(p.bin, "migrate")
	migrate.Env = append(migrate.Environ(), p.env...)
	out, err := migrate.CombinedOutput()
	require.NoError(t, err, "relance migrate:\n%s", out)

	p.fx = seedJourney(t, p.gdb, n, steps)
	// The invoices are created through the API below; the seeded rows
	// would be a second invoice per customer.
	require.NoError(t, p.gdb.Unscoped().Where("administration_id = ?", p.fx.adm.ID).Delete(&models.Invoice{}).Error)
	p.fx.invoices = nil
	p.key, _, err = auth.Create(context.Background(), p.gdb, p.fx.adm.OrganizationID, "prod-local e2e")
	require.NoError(t, err)

	p.tc, err = client.Dial(client.Options{HostPort: p.temporal.Address(), Namespace: prodNamespace, Logger: quietSDK{}})
	require.NoError(t, err)
	t.Cleanup(p.tc.Close)

	p.api = startRelance(t, p.bin, p.env, "api", "api")
	for i := 1; i <= 2; i++ {
		addr := freeAddr(t)
		p.workers = append(p.workers, startRelance(t, p.bin, append(p.env, "RELANCE_WORKER_LISTEN="+addr), fmt.Sprintf("worker-%d", i), "worker"))
		p.workerURLs = append(p.workerURLs, "http://"+addr)
	}
	p.waitReady(t, http.StatusOK, "at start")
	return p
}

// waitReady waits until the API's and every running worker's /readyz
// answers want.
func (p *prodLocal) waitReady(t *testing.T, want int, when string) {
	t.Helper()
	urls := []string{p.apiURL}
	for i, w := range p.workers {
		select {
		case <-w.done:
		default:
			urls = append(urls, p.workerURLs[i])
		}
	}
	for _, u := range urls {
		var last string
		require.Eventually(t, func() bool {
			code, body, retryAfter := readyz(u)
			last = fmt.Sprintf("%d %s", code, body)
			// The API tells clients when to come back (the worker's
			// health server is for orchestrators and need not).
			if code == http.StatusServiceUnavailable && u == p.apiURL && retryAfter == "" {
				last += " (no Retry-After)"
				return false
			}
			return code == want
		}, testkit.Patience, 200*time.Millisecond, "%s/readyz %s: want %d, last answer %s", u, when, want, last)
		t.Logf("%s/readyz %s: %s", u, when, last)
	}
}

// readyz asks base's /readyz and returns the status, body and Retry-After.
func readyz(base string) (int, string, string) {
	hc := &http.Client{Timeout: 10 * time.Second}
	resp, err := hc.Get(base + "/readyz")
	if err != nil {
		return 0, err.Error(), ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Retry-After")
}

// createInvoices creates one invoice per customer through the API (each
// starts its journey), due today.
func (p *prodLocal) createInvoices(t *testing.T) {
	t.Helper()
	loc, err := time.LoadLocation(p.fx.adm.TimeZone)
	require.NoError(t, err)
	today := time.Now().In(loc).Format("2006-01-02")
	hc := &http.Client{Timeout: time.Minute}
	for i, cust := range p.fx.customers {
		body, _ := json.Marshal(map[string]any{"customer_id": cust.ID, "number": fmt.Sprintf("PL-%d-%d", i, time.Now().UnixNano()),
			"issue_date": today, "due_date": today, "currency": "EUR", "amount_minor": 12500 + i})
		req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/administrations/%d/invoices", p.apiURL, p.fx.adm.ID), bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+p.key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusCreated, resp.StatusCode, string(b))
		var inv models.Invoice
		require.NoError(t, json.Unmarshal(b, &inv))
		require.NotEmpty(t, inv.WorkflowID, string(b))
		p.fx.invoices = append(p.fx.invoices, inv)
	}
}

// waitCompleted waits until every invoice's journey has completed its
// steps (the server may have been down meanwhile: a failed wait is
// retried) and, unless sentDays is negative, that each sent sentDays days
// (a day whose only send was left uncertain does not count as sent).
func (p *prodLocal) waitCompleted(t *testing.T, sentDays int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, inv := range p.fx.invoices {
		var res workflows.JourneyResult
		var err error
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err = p.tc.GetWorkflow(ctx, inv.WorkflowID, "").Get(ctx, &res)
			cancel()
			if err == nil || time.Now().After(deadline) {
				break
			}
		}
		require.NoError(t, err, "%s did not complete", inv.WorkflowID)
		require.Equal(t, workflows.OutcomeCompleted, res.Outcome, inv.WorkflowID)
		if sentDays >= 0 {
			require.Equal(t, sentDays, res.Sent, "%s: days with messages", inv.WorkflowID)
		}
	}
}

// countedOnce checks the outbox against what the loopback servers
// received: a sent row arrived exactly once, an uncertain row (the worker
// lost track of a send) at most once and has a reason, a skipped row never;
// no row is left in flight; the servers received nothing no row sent, and
// nothing twice. It returns the rows by state.
func (p *prodLocal) countedOnce(t *testing.T) map[models.MessageState][]models.Message {
	t.Helper()
	var rows []models.Message
	require.NoError(t, p.gdb.Order("id").Find(&rows).Error)
	byState := map[models.MessageState][]models.Message{}
	emailByID, smsByRef := map[string]string{}, map[string]string{}
	for _, m := range rows {
		byState[m.State] = append(byState[m.State], m)
		n := -1
		switch m.Channel {
		case string(policy.ChannelEmail):
			id := email.MessageID(m.Key, crashFrom)
			emailByID[id] = m.Key
			n = p.mail.count(id)
		case string(policy.ChannelSMS):
			ref := sms.ClientRef(m.Key)
			smsByRef[ref] = m.Key
			n = p.vonage.count(ref)
		}
		switch m.State {
		case models.MessageSent:
			require.Equal(t, 1, n, "sent row %s received %d times", m.Key, n)
			require.NotEmpty(t, m.ProviderID, m.Key)
		case models.MessageUncertain:
			require.LessOrEqual(t, n, 1, "uncertain row %s received %d times", m.Key, n)
			require.NotEmpty(t, m.Reason, "uncertain row %s says why", m.Key)
		case models.MessageSkipped:
			require.LessOrEqual(t, n, 0, "skipped row %s received %d times", m.Key, n)
		default:
			t.Errorf("row %s ended %s (%s)", m.Key, m.State, m.Reason)
		}
	}
	for id, n := range p.mail.counts() {
		require.Contains(t, emailByID, id, "the SMTP server received a message no outbox row sent")
		require.Equal(t, 1, n, "email %s (%s) received %d times", emailByID[id], id, n)
	}
	for ref, n := range p.vonage.counts() {
		require.Contains(t, smsByRef, ref, "Vonage received an SMS no outbox row sent")
		require.Equal(t, 1, n, "SMS %s received %d times", ref, n)
	}
	return byState
}

// channelRows counts the email and SMS rows of the invoices' journeys.
func channelRows(t *testing.T, gdb *gorm.DB) int64 {
	t.Helper()
	var n int64
	require.NoError(t, gdb.Model(&models.Message{}).Where("channel IN ?", []string{string(policy.ChannelEmail), string(policy.ChannelSMS)}).Count(&n).Error)
	return n
}

// prodJourney: the invoice by email and SMS on the due date, a reminder,
// then a final reminder with its SMS. No collection step: the journey
// completes after the final reminder.
func prodJourney(reminder, final int) []models.JourneyStep {
	return []models.JourneyStep{
		{Position: 0, OffsetDays: 0, Kind: string(policy.StepInvoice), Template: "default"},
		{Position: 1, OffsetDays: 0, Kind: string(policy.StepSMS), Template: "default"},
		{Position: 2, OffsetDays: reminder, Kind: string(policy.StepReminder), Template: "default"},
		{Position: 3, OffsetDays: final, Kind: string(policy.StepFinalReminder), Template: "default"},
		{Position: 4, OffsetDays: final, Kind: string(policy.StepSMS), Template: "default"},
	}
}

// TestProdLocalJourney runs a short-day journey on the production
// topology: the real Temporal server on PostgreSQL, `relance api` and two
// `relance worker` processes. Invoices created through the API send their
// invoice, SMS, reminder and final reminder, each received exactly once at
// the loopback servers.
func TestProdLocalJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real Temporal server and four processes")
	}
	const n = 4
	p := startProdLocal(t, 2*time.Second, prodJourney(3, 6), n)
	p.createInvoices(t)
	p.waitCompleted(t, 3, 3*time.Minute)
	rows := p.countedOnce(t)
	require.Empty(t, rows[models.MessageUncertain], "nothing went wrong: no send is uncertain")
	require.Len(t, rows[models.MessageSent], 5*n, "per invoice: 3 emails and 2 SMS")
	require.Equal(t, 3*n, p.mail.total())
	require.Equal(t, 2*n, p.vonage.total())
}

// TestProdLocalFaults runs journeys on the production topology through
// three faults, counted at the loopback SMTP and Vonage servers:
//
//   - the Temporal server is SIGKILLed just after the invoices' journeys
//     started (day 0 is being sent), the API's /readyz answers 503, the
//     server is started again on the same databases and every /readyz
//     answers 200;
//   - when the reminders fall due, the database connection of the API and
//     the workers is cut at a TCP proxy the test owns (the shared
//     PostgreSQL is never touched): every /readyz answers 503; then it is
//     restored and they answer 200;
//   - when the final reminders fall due, a worker is SIGKILLed; the other
//     one finishes.
//
// Then every journey completed; every outbox
// row reached the servers exactly once, or, where a fault left a send
// without its outcome, the row says uncertain with its reason and was
// received at most once; nothing arrived that no row sent.
func TestProdLocalFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the Temporal server and a worker; waits out a one-minute heartbeat timeout")
	}
	const (
		n        = 6
		day      = 2 * time.Second
		reminder = 8
		final    = 16
	)
	p := startProdLocal(t, day, prodJourney(reminder, final), n)
	p.createInvoices(t)

	// --- The Temporal server killed mid-run, and started again. ---
	require.NoError(t, p.temporal.Kill())
	t.Log("Temporal server killed")
	p.waitReady(t, http.StatusServiceUnavailable, "while Temporal was down")
	_, body, _ := readyz(p.apiURL)
	require.Contains(t, body, `"temporal":"unavailable"`)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	require.NoError(t, p.temporal.Start(ctx))
	cancel()
	t.Log("Temporal server started again")
	p.waitReady(t, http.StatusOK, "after Temporal came back")

	// --- The database connection cut when the reminders fall due. ---
	require.Eventually(t, func() bool { return rowsLike(t, p.gdb, fmt.Sprintf("%%/%d/%%", reminder)) > 0 }, testkit.Patience, 50*time.Millisecond,
		"no reminder started")
	p.proxy.Cut()
	t.Log("database connection cut")
	p.waitReady(t, http.StatusServiceUnavailable, "while the database was cut off")
	_, body, _ = readyz(p.apiURL)
	require.Contains(t, body, `"database":`)
	require.NotContains(t, body, `"database":"ok"`)
	p.proxy.Restore(t)
	t.Log("database connection restored")
	p.waitReady(t, http.StatusOK, "after the database came back")

	// --- A worker SIGKILLed when the final reminders fall due. ---
	require.Eventually(t, func() bool { return rowsLike(t, p.gdb, fmt.Sprintf("%%/%d/%%", final)) > 0 }, 2*testkit.Patience, 50*time.Millisecond,
		"no final reminder started")
	p.workers[0].kill(t)

	// The sends the killed worker held are retried once their heartbeat
	// times out (one minute).
	p.waitCompleted(t, -1, 4*time.Minute)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var inFlight []models.Message
		require.NoError(t, p.gdb.Where("state IN ?", []models.MessageState{models.MessageQueued, models.MessageSending}).Find(&inFlight).Error)
		assert.Empty(c, inFlight, "messages left in flight")
	}, testkit.Patience, 100*time.Millisecond)
	rows := p.countedOnce(t)
	// Nothing lost: every step a journey reports sent has its outbox rows;
	// a step it did not send says why (a journey whose planning an outage
	// delayed past a step's time skips it as a late entry rather than
	// sending it late).
	svc := app.New(app.Options{Temporal: p.tc})
	for _, inv := range p.fx.invoices {
		st, err := svc.JourneyState(context.Background(), inv.WorkflowID)
		require.NoError(t, err, inv.WorkflowID)
		for _, s := range st.Steps {
			if s.Status == workflows.StepSent {
				require.Positive(t, rowsLike(t, p.gdb, fmt.Sprintf("%s/%d/%s/%%", inv.WorkflowID, s.OffsetDays, s.Kind)),
					"%s step %d %s reported sent has no outbox row", inv.WorkflowID, s.OffsetDays, s.Kind)
				continue
			}
			require.NotEmpty(t, s.Reason, "%s step %d %s ended %s without a reason", inv.WorkflowID, s.OffsetDays, s.Kind, s.Status)
			t.Logf("not sent (reported): %s step %d %s: %s %s", inv.WorkflowID, s.OffsetDays, s.Kind, s.Status, s.Reason)
		}
	}
	require.LessOrEqual(t, channelRows(t, p.gdb), int64(5*n))
	for _, m := range rows[models.MessageUncertain] {
		t.Logf("uncertain (reported): %s: %s", m.Key, m.Reason)
	}
	t.Logf("counted at the servers: %d emails, %d SMS; %d rows sent, %d uncertain", p.mail.total(), p.vonage.total(),
		len(rows[models.MessageSent]), len(rows[models.MessageUncertain]))
	require.Equal(t, channelRows(t, p.gdb), int64(len(rows[models.MessageSent])+len(rows[models.MessageUncertain])))

	// The running server lists the journeys as completed (visibility on
	// PostgreSQL survived the kill).
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		resp, err := p.tc.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: prodNamespace, Query: "WorkflowType = '" + workflows.InvoiceJourneyName + "' AND ExecutionStatus = 'Completed'"})
		if assert.NoError(c, err) {
			assert.Equal(c, int64(n), resp.GetCount(), "visibility lists the completed journeys")
		}
	}, testkit.Patience, 500*time.Millisecond)
}

// freeAddr returns a loopback address nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// quietSDK drops the test client's logs (it retries while the server is
// down).
type quietSDK struct{}

func (quietSDK) Debug(string, ...any) {}
func (quietSDK) Info(string, ...any)  {}
func (quietSDK) Warn(string, ...any)  {}
func (quietSDK) Error(string, ...any) {}
