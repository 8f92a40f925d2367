package workflows_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
	"gorm.io/gorm"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/channels/email"
	"github.com/relance/relance/channels/letter"
	"github.com/relance/relance/channels/sms"
	"github.com/relance/relance/devsink"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/portal"
	. "github.com/relance/relance/workflows"
)

const day = 24 * time.Hour

// start is a Monday 09:00 UTC.
var start = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// caseFixture runs CollectionCase in the time-skipping test environment
// with the real activities, on a real SQLite database and the loopback
// SMTP and Vonage sinks and a letters folder: what a stage sends is what
// reaches the sinks.
type caseFixture struct {
	t       *testing.T
	env     *testsuite.TestWorkflowEnvironment
	db      *gorm.DB
	acts    *activities.Activities
	mail    *devsink.SMTPSink
	vonage  *devsink.VonageSink
	letters string
	adm     models.Administration
	cust    models.Customer
	joins   *joinRecorder
	caseID  int64
}

// joinRecorder is the CaseStarter of the fixture: the test delivers the
// signal itself (the time-skipping environment runs one workflow).
type joinRecorder struct {
	mu    sync.Mutex
	joins []activities.CaseJoin
}

func (r *joinRecorder) JoinCase(_ context.Context, j activities.CaseJoin) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.joins = append(r.joins, j)
	return CaseWorkflowID(j.AdministrationID, j.CaseID), nil
}

func newCaseFixture(t *testing.T, mod func(*models.Administration, *models.Customer)) *caseFixture {
	var suite testsuite.WorkflowTestSuite
	f := &caseFixture{t: t, env: suite.NewTestWorkflowEnvironment(), db: testkit.SQLite(t), joins: &joinRecorder{}}
	f.mail = &devsink.SMTPSink{}
	require.NoError(t, f.mail.Start("127.0.0.1:0"))
	t.Cleanup(func() { _ = f.mail.Close() })
	var port int
	_, err := fmt.Sscanf(f.mail.Addr()[strings.LastIndexByte(f.mail.Addr(), ':')+1:], "%d", &port)
	require.NoError(t, err)
	mailer, err := email.New(email.Config{Host: "127.0.0.1", Port: port, TLS: "none", Timeout: 10 * time.Second})
	require.NoError(t, err)
	f.vonage = &devsink.VonageSink{APIKey: "key", APISecret: "secret"}
	vs := httptest.NewServer(f.vonage)
	t.Cleanup(func() { vs.Close(); f.vonage.Close() })
	f.letters = t.TempDir()
	f.acts = &activities.Activities{
		DB: f.db, Email: mailer, Letters: letter.FolderProvider{Dir: f.letters},
		SMS:    sms.New(sms.Config{BaseURL: vs.URL, APIKey: "key", APISecret: "secret", From: "Relance", Timeout: 5 * time.Second}),
		Portal: portal.Links{BaseURL: "https://relance.test", Secret: []byte("s")},
		Day:    24 * time.Hour, DefaultFrom: "relance@example.com", Cases: f.joins,
		Now: func() time.Time { return f.env.Now() },
	}

	org := models.Organization{Name: "Cases", InboxRead: models.ReadManually}
	require.NoError(t, f.db.Create(&org).Error)
	settings := models.DefaultAdministrationSettings()
	settings.SMSEnabled = true
	f.adm = models.Administration{OrganizationID: org.ID, Name: "Cases BV", Country: "NL", TimeZone: "Europe/Amsterdam",
		Currency: "EUR", Language: "en", AdministrationSettings: settings,
		CompanyDetails: models.CompanyDetails{CompanyName: "Cases BV", SenderEmail: "ar@cases.example", CompanyAddress: "Dam 1\n1012 JS Amsterdam"}}
	f.cust = models.Customer{ExternalRef: "C-1", Name: "Debtor Ltd", Language: "en", Email: "debtor@example.com",
		Phone: "+31612345678", Mobile: "+31612345678", AddressLine1: "Kade 2", PostalCode: "1011 AB", City: "Amsterdam", Country: "NL",
		CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: "tok-1", Type: models.CustomerBusiness}
	if mod != nil {
		mod(&f.adm, &f.cust)
	}
	require.NoError(t, f.db.Create(&f.adm).Error)
	if !f.adm.CollectionSMSEnabled {
		require.NoError(t, f.db.Model(&f.adm).Update("collection_sms_enabled", false).Error)
	}
	f.cust.AdministrationID = f.adm.ID
	require.NoError(t, f.db.Create(&f.cust).Error)

	f.env.SetStartTime(start)
	f.env.RegisterWorkflowWithOptions(CollectionCase, workflow.RegisterOptions{Name: CollectionCaseName})
	f.env.RegisterActivity(f.acts)
	return f
}

// invoice creates an open invoice of 1,000.00 due on 1 October 2026 (32
// days before the fixture's start).
func (f *caseFixture) invoice(number string) models.Invoice {
	inv := models.Invoice{AdministrationID: f.adm.ID, CustomerID: f.cust.ID, Number: number,
		IssueDate: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), DueDate: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC),
		Currency: "EUR", AmountMinor: 100000, OpenMinor: 100000, Status: models.InvoiceOpen,
		WorkflowID: InvoiceWorkflowID(f.adm.ID, number), Stage: "final_reminder"}
	require.NoError(f.t, f.db.Create(&inv).Error)
	return inv
}

// join hands the invoice over with the real JoinCase activity code and
// delivers its signal to the case, as signal-with-start would.
func (f *caseFixture) join(inv models.Invoice, deliver bool) {
	res, err := f.acts.JoinCase(context.Background(), activities.JoinCaseInput{
		WorkflowID: inv.WorkflowID, AdministrationID: f.adm.ID, CustomerID: f.cust.ID, InvoiceID: inv.ID})
	require.NoError(f.t, err)
	require.False(f.t, res.Skipped)
	if f.caseID == 0 {
		f.caseID = res.CaseID
	}
	require.Equal(f.t, f.caseID, res.CaseID, "the customer's invoices share one case")
	if deliver {
		f.env.SignalWorkflow(SignalCaseInvoiceJoined, CaseInvoiceJoinedSignal{InvoiceID: inv.ID, Number: inv.Number, OpenMinor: inv.OpenMinor})
	}
}

// pay records a full payment in the database and signals the case.
func (f *caseFixture) pay(inv models.Invoice) {
	now := f.env.Now().UTC()
	require.NoError(f.t, f.db.Create(&models.Payment{InvoiceID: inv.ID, AmountMinor: inv.OpenMinor, Currency: "EUR", PaidAt: now}).Error)
	require.NoError(f.t, f.db.Model(&models.Invoice{}).Where("id = ?", inv.ID).
		Updates(map[string]any{"open_minor": 0, "status": models.InvoicePaid}).Error)
	f.env.SignalWorkflow(SignalCaseInvoiceUpdated, CaseInvoiceUpdatedSignal{InvoiceID: inv.ID, OpenMinor: 0, Status: StatusPaid, Revision: 1})
}

// run starts the case of the first invoice and runs it to its end or
// until the given time has passed.
func (f *caseFixture) run(first models.Invoice, until time.Duration) {
	f.join(first, false)
	f.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: CaseWorkflowID(f.adm.ID, f.caseID)})
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(SignalCaseInvoiceJoined, CaseInvoiceJoinedSignal{InvoiceID: first.ID, Number: first.Number, OpenMinor: first.OpenMinor})
	}, 0)
	f.env.SetTestTimeout(time.Minute)
	if until > 0 {
		f.env.RegisterDelayedCallback(func() { f.env.CancelWorkflow() }, until)
	}
	f.env.ExecuteWorkflow(CollectionCaseName, CaseInput{AdministrationID: f.adm.ID, CustomerID: f.cust.ID,
		CustomerRef: f.cust.ExternalRef, CaseID: f.caseID, Currency: "EUR"})
	require.True(f.t, f.env.IsWorkflowCompleted())
}

// sent lists the case's messages that went out, by stage position.
func (f *caseFixture) sent(channel string) []models.Message {
	var msgs []models.Message
	require.NoError(f.t, f.db.Where("case_id = ? AND channel = ? AND state = ?", f.caseID, channel, models.MessageSent).
		Order("step").Find(&msgs).Error)
	return msgs
}

func (f *caseFixture) skipped(channel string) []models.Message {
	var msgs []models.Message
	require.NoError(f.t, f.db.Where("case_id = ? AND channel = ? AND state = ?", f.caseID, channel, models.MessageSkipped).
		Order("step").Find(&msgs).Error)
	return msgs
}

func (f *caseFixture) letterFiles() int {
	entries, err := os.ReadDir(f.letters)
	require.NoError(f.t, err)
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".pdf") {
			n++
		}
	}
	return n
}

func (f *caseFixture) caseRow() models.CollectionCase {
	var cs models.CollectionCase
	require.NoError(f.t, f.db.First(&cs, f.caseID).Error)
	return cs
}

func (f *caseFixture) events(kind string) []models.CaseEvent {
	var ev []models.CaseEvent
	require.NoError(f.t, f.db.Where("case_id = ? AND kind = ?", f.caseID, kind).Order("id").Find(&ev).Error)
	return ev
}

// TestCaseAllStages: notice of default at once, last notice 14 days later,
// hand-over 14 days after that; each stage is ONE email, ONE letter and ONE
// SMS, with the costs and interest filled in; paying the invoice closes it.
func TestCaseAllStages(t *testing.T) {
	f := newCaseFixture(t, nil)
	inv := f.invoice("INV-1")
	f.env.RegisterDelayedCallback(func() { f.pay(inv) }, 40*day)
	f.run(inv, 0)

	var res CaseResult
	require.NoError(t, f.env.GetWorkflowResult(&res))
	require.Equal(t, CaseStageClosed, res.Stage)
	require.Equal(t, 3, res.Sent)

	mails := f.sent("email")
	require.Len(t, mails, 3, "one email per stage")
	require.Len(t, f.sent("post"), 3, "one letter per stage")
	require.Len(t, f.sent("sms"), 3, "one SMS per stage")
	require.Len(t, f.mail.Messages(), 3)
	require.Len(t, f.vonage.Messages(), 3)
	require.Equal(t, 3, f.letterFiles())
	for i, m := range mails {
		require.Equal(t, i+1, m.Step)
		require.Equal(t, f.caseID, *m.CaseID)
		require.Nil(t, m.InvoiceID, "a case's message is about the case")
	}
	// The notice at day 0 (2 Nov): 1,000.00 due 1 Oct, 32 days at 10.15 %:
	// 100000 × 32 × 1015 / 3 650 000 = 889.86 → €8.90; a business owes the
	// fixed €40.00; total 1,048.90.
	notice := mails[0].BodyText
	require.Contains(t, notice, "€40.00")
	require.Contains(t, notice, "€8.90")
	require.Contains(t, notice, "€1,048.90")
	require.NotContains(t, notice, "costs of  and")

	times := []time.Time{*mails[0].SentAt, *mails[1].SentAt, *mails[2].SentAt}
	require.Equal(t, start, times[0].UTC())
	require.Equal(t, start.Add(14*day), times[1].UTC())
	require.Equal(t, start.Add(28*day), times[2].UTC())

	cs := f.caseRow()
	require.Equal(t, models.CaseClosed, cs.Stage)
	require.NotNil(t, cs.NoticeAt)
	require.NotNil(t, cs.HandedOverAt)
	require.NotNil(t, cs.ClosedAt)
	require.Len(t, f.events(CaseEventHandOver), 1)
	require.Len(t, f.events(CaseEventClosed), 1)
}

// TestCaseCollectionSMSOff: the administration switched collection SMS off:
// letters and emails go, each stage's SMS is skipped with its own reason.
func TestCaseCollectionSMSOff(t *testing.T) {
	f := newCaseFixture(t, func(a *models.Administration, _ *models.Customer) { a.CollectionSMSEnabled = false })
	inv := f.invoice("INV-1")
	f.run(inv, 30*day)
	require.Len(t, f.sent("email"), 3)
	require.Empty(t, f.sent("sms"))
	require.Empty(t, f.vonage.Messages())
	skips := f.skipped("sms")
	require.Len(t, skips, 3)
	for _, s := range skips {
		require.Equal(t, "collection_sms_disabled", s.Reason)
	}
}

// TestCaseCustomerWithoutMobile: no mobile, so no SMS (mobile_missing); the
// email and the letter still go.
func TestCaseCustomerWithoutMobile(t *testing.T) {
	f := newCaseFixture(t, func(_ *models.Administration, c *models.Customer) { c.Phone, c.Mobile = "", "" })
	inv := f.invoice("INV-1")
	f.run(inv, 5*day)
	require.Len(t, f.sent("email"), 1)
	require.Len(t, f.sent("post"), 1)
	require.Empty(t, f.vonage.Messages())
	skips := f.skipped("sms")
	require.Len(t, skips, 1)
	require.Equal(t, "mobile_missing", skips[0].Reason)
}

// TestCasePaymentInTheMiddle: paid after the notice, the invoice leaves the
// case, which closes: no last notice, no hand-over.
func TestCasePaymentInTheMiddle(t *testing.T) {
	f := newCaseFixture(t, nil)
	inv := f.invoice("INV-1")
	f.env.RegisterDelayedCallback(func() { f.pay(inv) }, 5*day)
	f.run(inv, 0)
	var res CaseResult
	require.NoError(t, f.env.GetWorkflowResult(&res))
	require.Equal(t, 1, res.Sent)
	require.Len(t, f.sent("email"), 1)
	require.Equal(t, models.CaseClosed, f.caseRow().Stage)
	require.Len(t, f.events(CaseEventLeft), 1)
	var ci models.CaseInvoice
	require.NoError(t, f.db.First(&ci, "case_id = ? AND invoice_id = ?", f.caseID, inv.ID).Error)
	require.NotNil(t, ci.LeftAt)
	require.Equal(t, "paid", ci.LeftReason)
}

// TestCasePausedUntilADate: paused on day 1 until day 30, the last notice
// waits for the pause to end, and the hand-over follows 14 days later.
func TestCasePausedUntilADate(t *testing.T) {
	f := newCaseFixture(t, nil)
	inv := f.invoice("INV-1")
	until := start.Add(30 * day)
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(SignalPause, PauseSignal{Until: &until, Reason: "payment plan"})
	}, day)
	f.env.RegisterDelayedCallback(func() {
		v, err := f.env.QueryWorkflow(QueryState)
		require.NoError(t, err)
		var st CaseState
		require.NoError(t, v.Get(&st))
		require.True(t, st.Paused)
		require.Equal(t, CaseStageLastNotice, st.NextStage)
		require.Equal(t, until, st.NextAt.UTC())
		require.True(t, f.caseRow().Paused, "the case row shows the pause for the API's filter")
	}, 10*day)
	f.run(inv, 50*day)
	mails := f.sent("email")
	require.Len(t, mails, 3)
	require.Equal(t, until, mails[1].SentAt.UTC())
	require.Equal(t, until.Add(14*day), mails[2].SentAt.UTC())
	require.Len(t, f.events(CaseEventPaused), 1)
	require.Len(t, f.events(CaseEventResumed), 1)
}

// TestCaseTwoInvoicesShareOneCase: a second invoice handed over a week
// later joins the open case: no second notice; the last notice lists both
// invoices and the costs of both (2 × 40 EUR).
func TestCaseTwoInvoicesShareOneCase(t *testing.T) {
	f := newCaseFixture(t, nil)
	first := f.invoice("INV-1")
	second := f.invoice("INV-2")
	f.env.RegisterDelayedCallback(func() { f.join(second, true) }, 7*day)
	f.run(first, 20*day)

	var cases int64
	require.NoError(t, f.db.Model(&models.CollectionCase{}).Where("customer_id = ?", f.cust.ID).Count(&cases).Error)
	require.Equal(t, int64(1), cases)
	var members int64
	require.NoError(t, f.db.Model(&models.CaseInvoice{}).Where("case_id = ?", f.caseID).Count(&members).Error)
	require.Equal(t, int64(2), members)

	mails := f.sent("email")
	require.Len(t, mails, 2, "one notice and one last notice, never one per invoice")
	require.Len(t, f.mail.Messages(), 2)
	require.NotContains(t, mails[0].BodyText, "INV-2", "the notice went before the second invoice joined")
	require.Contains(t, mails[1].BodyText, "INV-1")
	require.Contains(t, mails[1].BodyText, "INV-2")
	require.Contains(t, mails[1].BodyText, "€80.00")
	require.Len(t, f.events(CaseEventJoined), 2)
}

// TestCaseWaiveAndHandOverNow: a partial waiver shows in the next stage and
// on the timeline; a negative one is refused; hand-over-now sends the
// agency stage at once.
func TestCaseWaiveAndHandOverNow(t *testing.T) {
	f := newCaseFixture(t, nil)
	inv := f.invoice("INV-1")
	f.env.RegisterDelayedCallback(func() {
		f.env.UpdateWorkflow(UpdateWaiveCosts, "w1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { require.Contains(t, err.Error(), "negative") },
			OnAccept: func() { t.Error("negative waiver accepted") }, OnComplete: func(any, error) {},
		}, WaiveCostsRequest{AmountMinor: -1})
		f.env.UpdateWorkflow(UpdateWaiveCosts, "w2", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("waiver rejected: %v", err) }, OnAccept: func() {},
			OnComplete: func(v any, err error) { require.NoError(t, err) },
		}, WaiveCostsRequest{AmountMinor: 1500, Reason: "goodwill"})
	}, 2*day)
	f.env.RegisterDelayedCallback(func() {
		f.env.UpdateWorkflow(UpdateHandOverNow, "h1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("hand-over rejected: %v", err) }, OnAccept: func() {},
			OnComplete: func(any, error) {},
		}, HandOverNowRequest{Reason: "no answer"})
	}, 3*day)
	f.run(inv, 10*day)
	mails := f.sent("email")
	require.Len(t, mails, 2, "notice, then the agency stage at once (no last notice)")
	require.Equal(t, 3, mails[1].Step)
	require.Equal(t, start.Add(3*day), mails[1].SentAt.UTC())
	require.Contains(t, mails[1].BodyText, "€25.00", "40.00 less the 15.00 waived")
	w := f.events(CaseEventWaived)
	require.Len(t, w, 1)
	require.Equal(t, int64(1500), w[0].AmountMinor)
	require.Equal(t, int64(1500), f.caseRow().WaivedMinor)
}
