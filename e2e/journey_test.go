// Package e2e runs Relance end to end: a real Temporal dev server, the real
// worker and workflows, the API over HTTP, real SMTP and Vonage-protocol
// sinks and a letters folder, with a short journey day so that a whole
// journey plays out in seconds.
package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
	"gorm.io/gorm"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/api"
	"github.com/relance/relance/app"
	"github.com/relance/relance/auth"
	"github.com/relance/relance/channels/email"
	"github.com/relance/relance/channels/letter"
	"github.com/relance/relance/channels/sms"
	"github.com/relance/relance/config"
	"github.com/relance/relance/devsink"
	"github.com/relance/relance/inbound"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/metrics"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/portal"
	"github.com/relance/relance/tracing"
	"github.com/relance/relance/worker"
	"github.com/relance/relance/workflows"
)

var recordHistory = flag.Bool("record-history", false, "write the finished journey's history to workflows/testdata for the replay test")

// stack is the whole product on loopback.
type stack struct {
	t      *testing.T
	db     *gorm.DB
	tc     client.Client
	api    *httptest.Server
	mail   *devsink.SMTPSink
	vonage *devsink.VonageSink
	key    string
	adm    models.Administration
	cust   models.Customer
	day    time.Duration
	// onRcpt holds, per recipient address, a func the SMTP server calls
	// while it receives a message for it (during the send activity).
	onRcpt sync.Map
}

// stackOptions vary the stack: the application service's options, tracing.
type stackOptions struct {
	app     func(*app.Options)
	tracing *tracing.Tracing
}

// stackOption is one variation of the stack.
type stackOption func(*stackOptions)

// withApp adjusts the application service's options.
func withApp(f func(*app.Options)) stackOption { return func(o *stackOptions) { o.app = f } }

// withTracing traces the client, the worker and the API as `relance api`
// and `relance worker` do when an OTLP endpoint is configured.
func withTracing(tr *tracing.Tracing) stackOption { return func(o *stackOptions) { o.tracing = tr } }

func newStack(t *testing.T, gdb *gorm.DB, day time.Duration, options ...stackOption) *stack {
	t.Helper()
	var so stackOptions
	for _, f := range options {
		f(&so)
	}
	srv, _ := testkit.DevServer(t)
	// The worker's and the API's client report the SDK's metrics into the
	// process's registry, as `relance worker` and `relance api` do.
	tc, err := client.Dial(client.Options{HostPort: srv.FrontendHostPort(), Namespace: "default", MetricsHandler: metrics.TemporalHandler(),
		Interceptors: so.tracing.ClientInterceptors()})
	require.NoError(t, err)
	t.Cleanup(tc.Close)
	s := &stack{t: t, db: gdb, tc: tc, day: day}
	s.mail = &devsink.SMTPSink{Reject: func(rcpt string) error {
		if f, ok := s.onRcpt.Load(rcpt); ok {
			f.(func())()
		}
		return nil
	}}
	require.NoError(t, s.mail.Start("127.0.0.1:0"))
	t.Cleanup(func() { _ = s.mail.Close() })
	s.vonage = &devsink.VonageSink{APIKey: "k", APISecret: "s"}
	vsrv := httptest.NewServer(s.vonage)
	t.Cleanup(vsrv.Close)
	t.Cleanup(s.vonage.Close)

	mailer, err := email.New(email.Config{Host: "127.0.0.1", Port: port(t, s.mail.Addr()), TLS: "none", Timeout: 10 * time.Second})
	require.NoError(t, err)
	links := portal.Links{BaseURL: "http://portal.test", Secret: []byte("e2e-secret")}
	acts := &activities.Activities{
		DB: gdb, Email: mailer, Letters: letter.FolderProvider{Dir: t.TempDir()},
		SMS:    sms.New(sms.Config{BaseURL: vsrv.URL, APIKey: "k", APISecret: "s", From: "Relance", RatePerSecond: 30}),
		Portal: links, Day: day, DefaultFrom: "relance@example.com",
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- worker.Run(ctx, tc, acts, worker.Options{SMSPerSecond: 30}) }()
	t.Cleanup(func() { cancel(); <-done })

	org := models.Organization{Name: "E2E", InboxRead: models.ReadManually}
	require.NoError(t, gdb.Create(&org).Error)
	settings := models.DefaultAdministrationSettings()
	settings.SMSEnabled = true
	// These tests follow each invoice's own messages (keys, counts, the
	// timeline's message entries): one message per invoice. The bundle path
	// has its own end-to-end and crash tests (bundle_test.go,
	// crash_bundle_test.go).
	settings.Bundling = models.BundlingOff
	s.adm = models.Administration{OrganizationID: org.ID, Name: "E2E BV", Country: "NL", TimeZone: "Europe/Amsterdam",
		Currency: "EUR", Language: "en", AdministrationSettings: settings,
		CompanyDetails: models.CompanyDetails{CompanyName: "E2E BV", SenderEmail: "ar@e2e.example", CompanyAddress: "Main 1\n1000 AA Amsterdam",
			BankDetails: "IBAN NL91 ABNA 0417 1643 00", LatePenaltyRate: "8%", UserName: "Sanne Jansen", UserEmail: "sanne@example.com", UserPhone: "+31 20 123 4568"}}
	require.NoError(t, gdb.Create(&s.adm).Error)
	s.cust = models.Customer{AdministrationID: s.adm.ID, ExternalRef: "E2E-1", Name: "Customer One", Language: "en",
		Email: "one@customer.example", Phone: "06 12345678", Mobile: "+31612345678", AddressLine1: "Street 1", PostalCode: "1234 AB",
		City: "Utrecht", Country: "NL", CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: "e2e"}
	require.NoError(t, gdb.Create(&s.cust).Error)
	s.key, _, err = auth.Create(context.Background(), gdb, org.ID, "e2e")
	require.NoError(t, err)

	cfg := config.Config{MaxBodyBytes: 1 << 20, MaxImportBytes: 1 << 20, Day: day, PortalSecret: "e2e-secret-e2e-secret"}
	opts := app.Options{DB: gdb, Temporal: tc, Portal: links}
	if so.app != nil {
		so.app(&opts)
	}
	s.api = httptest.NewServer(so.tracing.Handler(api.NewRouter(api.Deps{App: app.New(opts), Inbound: inbound.NewRecorder(gdb, nil), Config: cfg, Portal: links})))
	t.Cleanup(s.api.Close)
	return s
}

func port(t *testing.T, addr string) int {
	var p int
	_, err := fmt.Sscanf(addr[strings.LastIndexByte(addr, ':')+1:], "%d", &p)
	require.NoError(t, err)
	return p
}

func (s *stack) call(method, path string, body any, out any) int {
	s.t.Helper()
	status, b, _ := s.raw(method, path, body)
	if out != nil && status < 300 {
		require.NoError(s.t, json.Unmarshal(b, out), string(b))
	}
	return status
}

func (s *stack) invoice(id int64) api.InvoiceView {
	var v api.InvoiceView
	require.Equal(s.t, http.StatusOK, s.call("GET", fmt.Sprintf("/api/v1/invoices/%d", id), nil, &v))
	return v
}

// visible runs a visibility query and reports whether it lists workflowID.
func (s *stack) visible(query, workflowID string) bool {
	res, err := s.tc.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
	require.NoError(s.t, err)
	for _, e := range res.GetExecutions() {
		if e.GetExecution().GetWorkflowId() == workflowID {
			return true
		}
	}
	return false
}

// TestJourneyEndToEnd: an invoice created through the API plays its whole
// journey out; it is paused and resumed through the API; its stage is
// visible through the state query and through visibility on RelanceStage.
func TestJourneyEndToEnd(t *testing.T) {
	const day = time.Second
	s := newStack(t, testkit.SQLite(t), day)
	today := time.Now().UTC()
	num := fmt.Sprintf("E2E-%d", today.UnixNano())
	var v api.InvoiceView
	status := s.call("POST", fmt.Sprintf("/api/v1/administrations/%d/invoices", s.adm.ID), map[string]any{
		"customer_id": s.cust.ID, "number": num, "issue_date": today.Format("2006-01-02"),
		"due_date": today.AddDate(0, 0, 14).Format("2006-01-02"), "amount_minor": 50000,
	}, &v)
	require.Equal(t, http.StatusCreated, status)
	wf := v.WorkflowID

	// The invoice goes out at once (issue date = today).
	require.Eventually(t, func() bool {
		st := s.invoice(v.ID)
		return st.Journey != nil && st.Journey.Stage == workflows.StageInvoiced && st.Stage == "invoiced"
	}, testkit.Patience, 100*time.Millisecond)
	require.Eventually(t, func() bool {
		return s.visible(fmt.Sprintf(`RelanceStage = "invoiced" AND RelanceInvoice = %q`, num), wf)
	}, testkit.Patience, 200*time.Millisecond)
	require.True(t, s.visible(fmt.Sprintf(`RelanceCustomer = %q`, s.cust.ExternalRef), wf))

	// The state lists the sent step, and the next one with the channel it would go on now.
	st := s.invoice(v.ID).Journey
	require.NotNil(t, st)
	require.Equal(t, string(workflows.StepSent), st.Steps[0].Status)
	require.Equal(t, policy.StepInvoice, st.Steps[0].Kind)
	require.Equal(t, api.TimingAtIssue, st.Steps[0].Timing)
	require.Contains(t, st.Steps[0].Channels, "email:sent")
	require.NotNil(t, st.Next)
	require.Equal(t, policy.StepReminder, st.Next.Kind)
	require.NotNil(t, st.Next.Choice)
	require.Equal(t, []policy.Channel{policy.ChannelEmail}, st.Next.Choice.Channels)
	for _, s := range st.Steps[1:] {
		require.Equal(t, string(workflows.StepPlanned), s.Status)
	}

	// A pause until a date, through the API, ends by itself at that date.
	until := time.Now().UTC().Add(2 * day).Truncate(time.Second).Add(time.Second)
	require.Equal(t, http.StatusOK, s.call("POST", fmt.Sprintf("/api/v1/invoices/%d/pause", v.ID),
		map[string]any{"reason": "promise to pay", "until": until.Format(time.RFC3339)}, nil))
	require.Eventually(t, func() bool {
		j := s.invoice(v.ID).Journey
		return j != nil && j.Paused && j.PausedUntil != nil && j.PausedUntil.Equal(until)
	}, testkit.Patience, 50*time.Millisecond)
	require.Eventually(t, func() bool {
		got := s.invoice(v.ID)
		return got.Journey != nil && !got.Journey.Paused && !got.Paused && !time.Now().Before(until)
	}, testkit.Patience, 100*time.Millisecond)
	require.Eventually(t, func() bool { return s.visible(`RelancePaused = false AND RelanceStage = "invoiced"`, wf) }, testkit.Patience, 200*time.Millisecond)

	// Pause before the first reminder falls due.
	require.Equal(t, http.StatusOK, s.call("POST", fmt.Sprintf("/api/v1/invoices/%d/pause", v.ID), map[string]any{"reason": "called us"}, nil))
	var next time.Time
	require.Eventually(t, func() bool {
		st := s.invoice(v.ID)
		if st.Journey == nil || !st.Journey.Paused || st.Journey.Next == nil {
			return false
		}
		next = st.Journey.Next.At
		return true
	}, testkit.Patience, 100*time.Millisecond)
	require.Eventually(t, func() bool { return s.visible(`RelancePaused = true`, wf) }, testkit.Patience, 200*time.Millisecond)
	sentBefore := len(s.mail.Messages())
	// Wait until the next step's time has passed by two days: nothing goes while paused.
	for time.Now().Before(next.Add(2 * day)) {
		time.Sleep(100 * time.Millisecond)
	}
	require.Equal(t, sentBefore, len(s.mail.Messages()), "a paused journey sent a message")
	require.Equal(t, workflows.StageInvoiced, s.invoice(v.ID).Journey.Stage)

	require.Equal(t, http.StatusOK, s.call("POST", fmt.Sprintf("/api/v1/invoices/%d/resume", v.ID), map[string]any{"reason": "no answer"}, nil))
	// The journey plays out to the hand-over to collection.
	run := s.tc.GetWorkflow(context.Background(), wf, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var res workflows.JourneyResult
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, workflows.OutcomeCollection, res.Outcome)
	require.Eventually(t, func() bool { return s.visible(`RelanceStage = "collection"`, wf) }, testkit.Patience, 200*time.Millisecond)

	// The hand-over opened the customer's collection case, whose notice of
	// default (email, letter, SMS) goes once for the case.
	require.Eventually(t, func() bool { return len(s.vonage.Messages()) == 2 }, testkit.Patience, 100*time.Millisecond)

	// Counted at the servers: one email per sent step of the journey and
	// of the case, each key once; the SMS reached the Vonage stand-in.
	var rows []models.Message
	require.NoError(t, s.db.Where("workflow_id = ? OR (customer_id = ? AND case_id IS NOT NULL)", wf, s.cust.ID).Order("id").Find(&rows).Error)
	sentEmails := 0
	keys := map[string]bool{}
	for _, m := range rows {
		require.False(t, keys[m.Key], "duplicate outbox key %s", m.Key)
		keys[m.Key] = true
		if m.Channel == "email" && m.State == models.MessageSent {
			sentEmails++
		}
	}
	emails := 0
	for _, m := range s.mail.Messages() {
		if strings.Contains(m.To, s.cust.Email) {
			emails++
		}
	}
	require.Equal(t, sentEmails, emails, "emails at the SMTP sink vs sent rows")
	require.GreaterOrEqual(t, emails, 3)
	// Two SMS: the journey's SMS step beside the final reminder, and the
	// case's notice of default's automatic SMS (collection_sms_enabled is on).
	smsSent := s.vonage.Messages()
	require.Len(t, smsSent, 2)
	require.Equal(t, "31612345678", smsSent[0].To)
	require.True(t, strings.HasSuffix(smsSent[0].ClientRef, "/sms/sms"), smsSent[0].ClientRef)
	require.True(t, strings.HasSuffix(smsSent[1].ClientRef, "/notice_of_default/sms"), smsSent[1].ClientRef)
	// An SMS carries the portal's home and the customer's short code (a
	// signed link does not fit one segment).
	for _, m := range smsSent {
		require.Regexp(t, `[A-Z0-9]{4}-[A-Z0-9]{4}\b.*http://portal\.test/portal\b|http://portal\.test/portal\b.*[A-Z0-9]{4}-[A-Z0-9]{4}\b`, m.Text)
	}

	final := s.invoice(v.ID)
	require.Equal(t, "collection", final.Stage)

	// Then the invoice email bounces: the journey as the API serves it says so
	// (the workflow still remembers email:sent).
	var invMail models.Message
	require.NoError(t, s.db.Where("workflow_id = ? AND channel = ?", wf, "email").First(&invMail).Error)
	_, err := inbound.NewRecorder(s.db, nil).RecordBounce(context.Background(), email.DSN{MessageID: invMail.ProviderID,
		Recipients: []email.DSNRecipient{{FinalRecipient: s.cust.Email, Action: "failed", Status: "5.1.1", DiagnosticCode: "550 5.1.1 User unknown"}}})
	require.NoError(t, err)
	st = s.invoice(v.ID).Journey // a closed journey still answers its query
	require.NotNil(t, st)
	require.Equal(t, []string{"email:failed"}, st.Steps[0].Channels)

	if *recordHistory {
		// journey_paused_to_collection.json is the history recorded before the
		// GetVersion gates: it stays, and this one is recorded beside it.
		writeHistory(t, s.tc, wf, filepath.Join("..", "workflows", "testdata", "journey_e2e_paused_to_collection.json"))
	}
}

// writeHistory saves a workflow's history as the JSON the replayer reads.
func writeHistory(t *testing.T, tc client.Client, workflowID, path string) {
	it := tc.GetWorkflowHistory(context.Background(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []json.RawMessage
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		b, err := protojson.Marshal(ev)
		require.NoError(t, err)
		events = append(events, b)
	}
	out, err := json.MarshalIndent(map[string]any{"events": events}, "", " ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, out, 0o644))
}
