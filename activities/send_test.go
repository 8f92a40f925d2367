package activities_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"gorm.io/gorm"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/channels/email"
	"github.com/relance/relance/channels/letter"
	"github.com/relance/relance/channels/sms"
	"github.com/relance/relance/devsink"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/portal"
	"github.com/relance/relance/worker"
	"github.com/relance/relance/workflows"
)

// sendEnv is the sending activity wired to real loopback providers: an SMTP
// server, the Vonage stand-in and a Lob-style letters endpoint.
type sendEnv struct {
	t      *testing.T
	db     *gorm.DB
	acts   *activities.Activities
	smtp   *devsink.SMTPSink
	vonage *devsink.VonageSink
	print  *printStandIn
	adm    models.Administration
	n      int

	mu     sync.Mutex
	reject func(rcpt string) error
}

// printStandIn answers like a Lob-style letters API; fail, when set, gives
// the status and body of the next answers.
type printStandIn struct {
	mu       sync.Mutex
	accepted int
	requests int
	fail     func() (int, string)
}

func (p *printStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	p.mu.Lock()
	p.requests++
	fail := p.fail
	p.mu.Unlock()
	if fail != nil {
		if status, body := fail(); status != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
			return
		}
	}
	p.mu.Lock()
	p.accepted++
	n := p.accepted
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"id":"ltr_%d"}`, n)
}

func (p *printStandIn) counts() (requests, accepted int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests, p.accepted
}

func newSendEnv(t *testing.T, gdb *gorm.DB) *sendEnv {
	t.Helper()
	e := &sendEnv{t: t, db: gdb}
	e.smtp = &devsink.SMTPSink{Reject: func(rcpt string) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.reject != nil {
			return e.reject(rcpt)
		}
		return nil
	}}
	require.NoError(t, e.smtp.Start("127.0.0.1:0"))
	t.Cleanup(func() { _ = e.smtp.Close() })
	host, port, err := net.SplitHostPort(e.smtp.Addr())
	require.NoError(t, err)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	mail, err := email.New(email.Config{Host: host, Port: p, TLS: email.TLSNone, Timeout: 5 * time.Second, HeloName: "relance.test"})
	require.NoError(t, err)

	e.vonage = &devsink.VonageSink{APIKey: "key", APISecret: "secret"}
	vs := httptest.NewServer(e.vonage)
	t.Cleanup(func() { vs.Close(); e.vonage.Close() })
	e.print = &printStandIn{}
	ps := httptest.NewServer(e.print)
	t.Cleanup(ps.Close)

	e.acts = &activities.Activities{
		DB:          gdb,
		Email:       mail,
		SMS:         sms.New(sms.Config{BaseURL: vs.URL, APIKey: "key", APISecret: "secret", From: "Relance", Timeout: 2 * time.Second}),
		Letters:     &letter.HTTPProvider{BaseURL: ps.URL, APIKey: "test_key", Timeout: 10 * time.Second},
		Portal:      portal.Links{BaseURL: "https://relance.test", Secret: []byte("portal-secret")},
		Day:         24 * time.Hour,
		DefaultFrom: "relance@relance.test",
	}
	org := models.Organization{Name: "Org", InboxRead: models.ReadManually}
	require.NoError(t, gdb.Create(&org).Error)
	settings := models.DefaultAdministrationSettings()
	settings.SMSEnabled = true
	e.adm = models.Administration{OrganizationID: org.ID, Name: "Acme", Country: "FR", TimeZone: "Europe/Paris", Currency: "EUR",
		Language: "fr", AdministrationSettings: settings,
		CompanyDetails: models.CompanyDetails{CompanyName: "Acme SAS", CompanyAddress: "1 rue de la Paix\n75002 Paris", SenderEmail: "factures@acme.example", SMSSender: "Acme",
			BankDetails: "IBAN FR76 3000 6000 0112 3456 7890 189", LatePenaltyRate: "10 %", UserName: "Claire Martin", UserEmail: "claire@acme.example", UserPhone: "+33 1 23 45 67 89"}}
	require.NoError(t, gdb.Create(&e.adm).Error)
	return e
}

func (e *sendEnv) setReject(f func(string) error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reject = f
}

// customer creates a customer with one open invoice; mod adjusts it first.
func (e *sendEnv) customer(mod func(*models.Customer)) (models.Customer, models.Invoice) {
	e.t.Helper()
	e.n++
	c := models.Customer{AdministrationID: e.adm.ID, ExternalRef: fmt.Sprintf("C%d", e.n), Name: fmt.Sprintf("Client %d SARL", e.n),
		Language: "fr", Email: fmt.Sprintf("client%d@example.com", e.n), Phone: "06 12 34 56 78", Mobile: "+33612345678",
		AddressLine1: "12 avenue Foch", PostalCode: "69006", City: "Lyon", Country: "FR",
		CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: fmt.Sprintf("tok-%d-%d", e.n, time.Now().UnixNano())}
	if mod != nil {
		mod(&c)
	}
	require.NoError(e.t, e.db.Create(&c).Error)
	now := time.Now().UTC()
	inv := models.Invoice{AdministrationID: e.adm.ID, CustomerID: c.ID, Number: fmt.Sprintf("F-%d", e.n),
		IssueDate: now.AddDate(0, 0, -40), DueDate: now.AddDate(0, 0, -10), Currency: "EUR", AmountMinor: 123456, OpenMinor: 100000,
		Status: models.InvoiceOpen, WorkflowID: fmt.Sprintf("invoice:%d:F-%d", e.adm.ID, e.n)}
	require.NoError(e.t, e.db.Create(&inv).Error)
	return c, inv
}

func (e *sendEnv) input(c models.Customer, inv models.Invoice, kind policy.StepKind) activities.SendInput {
	return activities.SendInput{WorkflowID: inv.WorkflowID, AdministrationID: e.adm.ID, CustomerID: c.ID, InvoiceID: inv.ID,
		Step: activities.StepRef{Position: 1, OffsetDays: 10, Kind: kind, Template: "default"},
		Key:  fmt.Sprintf("%s/10/%s", inv.WorkflowID, kind), Stage: string(kind)}
}

// send runs SendStep once, as one activity attempt of Temporal's test suite.
func (e *sendEnv) send(in activities.SendInput) (activities.SendResult, error) {
	e.t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(e.acts)
	val, err := env.ExecuteActivity(e.acts.SendStep, in)
	var res activities.SendResult
	if err == nil {
		require.NoError(e.t, val.Get(&res))
	}
	return res, err
}

func (e *sendEnv) rows(in activities.SendInput) map[string]models.Message {
	e.t.Helper()
	var msgs []models.Message
	require.NoError(e.t, e.db.Where("invoice_id = ? AND workflow_id = ?", in.InvoiceID, in.WorkflowID).Find(&msgs).Error)
	out := map[string]models.Message{}
	for _, m := range msgs {
		out[m.Channel] = m
	}
	return out
}

func (e *sendEnv) mailsTo(addr string) int {
	n := 0
	for _, m := range e.smtp.Messages() {
		for _, to := range m.EnvelopeTo {
			if to == addr {
				n++
			}
		}
	}
	return n
}

func (e *sendEnv) smsTo(digits string) int {
	n := 0
	for _, m := range e.vonage.Messages() {
		if m.To == digits {
			n++
		}
	}
	return n
}

// requireRetryable asserts an activity error Temporal will retry.
func requireRetryable(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		require.False(t, app.NonRetryable(), "must be retryable: %v", err)
		require.NotEqual(t, activities.ErrTypePermanent, app.Type(), "%v", err)
	}
}

func TestSendStep(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		e := newSendEnv(t, gdb)
		t.Run("email is sent once, even when the activity runs again", func(t *testing.T) { testEmailOnce(t, e) })
		t.Run("SMTP 4xx and a dead server are retried", func(t *testing.T) { testEmailRetry(t, e) })
		t.Run("SMTP 5xx fails without retry", func(t *testing.T) { testEmailPermanent(t, e) })
		t.Run("Vonage 5xx, throttling and an unreachable API are retried; a lost answer is uncertain", func(t *testing.T) { testSMSRetry(t, e) })
		t.Run("Vonage refusal fails without retry", func(t *testing.T) { testSMSPermanent(t, e) })
		t.Run("letter service 5xx retried, 4xx fails", func(t *testing.T) { testLetter(t, e) })
		t.Run("bad contact data is skipped with a reason", func(t *testing.T) { testBadContactData(t, e) })
		t.Run("a template the database cannot give is retried, not failed", func(t *testing.T) { testTemplateLoadRetried(t, e) })
	})
}

// testTemplateLoadRetried: the database refuses the template's read (a
// full server: SQLSTATE 53300) while the step is made. The message is
// not recorded as failed — that is for a template that cannot render —
// the attempt fails retryably, and the retry sends it.
func testTemplateLoadRetried(t *testing.T, e *sendEnv) {
	c, inv := e.customer(nil)
	in := e.input(c, inv, policy.StepReminder)
	refuse := errors.New("FATAL: sorry, too many clients already (SQLSTATE 53300)")
	// Callbacks belong to the database handle: removed before anything else runs.
	require.NoError(t, e.db.Callback().Query().Before("gorm:query").Register("test:refuse-templates", func(tx *gorm.DB) {
		if tx.Statement.Table == "templates" {
			_ = tx.AddError(refuse)
		}
	}))
	_, err := e.send(in)
	require.NoError(t, e.db.Callback().Query().Remove("test:refuse-templates"))
	requireRetryable(t, err)
	require.ErrorContains(t, err, "53300")
	row, ok := e.rows(in)["email"]
	require.True(t, !ok || row.State != models.MessageFailed, "a database that did not answer is no reason to fail the message")
	require.Zero(t, e.mailsTo(c.Email))

	res, err := e.send(in)
	require.NoError(t, err)
	require.True(t, res.Sent)
	require.Equal(t, 1, e.mailsTo(c.Email))
}

func testEmailOnce(t *testing.T, e *sendEnv) {
	c, inv := e.customer(nil)
	in := e.input(c, inv, policy.StepReminder)
	res, err := e.send(in)
	require.NoError(t, err)
	require.True(t, res.Sent)
	require.Equal(t, 1, e.mailsTo(c.Email))
	row := e.rows(in)["email"]
	require.Equal(t, models.MessageSent, row.State)
	require.NotEmpty(t, row.ProviderID)
	require.NotNil(t, row.SentAt)
	require.Equal(t, 1, row.Attempts)

	// A retry of the same step (Temporal re-running the activity after a
	// lost completion) finds the row sent and sends nothing.
	res, err = e.send(in)
	require.NoError(t, err)
	require.True(t, res.Sent)
	require.Equal(t, 1, e.mailsTo(c.Email))
	require.Equal(t, 1, e.rows(in)["email"].Attempts)
}

func testEmailRetry(t *testing.T, e *sendEnv) {
	c, inv := e.customer(nil)
	in := e.input(c, inv, policy.StepReminder)
	e.setReject(func(string) error {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	})
	_, err := e.send(in)
	requireRetryable(t, err)
	row := e.rows(in)["email"]
	require.Equal(t, models.MessageQueued, row.State, "back in the queue for the retry")
	require.Contains(t, row.Reason, "451")
	require.Zero(t, e.mailsTo(c.Email))

	e.setReject(nil)
	res, err := e.send(in)
	require.NoError(t, err)
	require.True(t, res.Sent)
	row = e.rows(in)["email"]
	require.Equal(t, models.MessageSent, row.State)
	require.Empty(t, row.Reason)
	require.Equal(t, 2, row.Attempts)
	require.Equal(t, 1, e.mailsTo(c.Email))

	// A server that is down is retryable too.
	c2, inv2 := e.customer(nil)
	in2 := e.input(c2, inv2, policy.StepReminder)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().(*net.TCPAddr)
	require.NoError(t, ln.Close())
	down, err := email.New(email.Config{Host: "127.0.0.1", Port: addr.Port, TLS: email.TLSNone, Timeout: 2 * time.Second})
	require.NoError(t, err)
	saved := e.acts.Email
	e.acts.Email = down
	_, err = e.send(in2)
	e.acts.Email = saved
	requireRetryable(t, err)
	require.Equal(t, models.MessageQueued, e.rows(in2)["email"].State)
}

func testEmailPermanent(t *testing.T, e *sendEnv) {
	c, inv := e.customer(func(c *models.Customer) { c.AddressLine1 = "" }) // no letter fallback
	in := e.input(c, inv, policy.StepReminder)
	e.setReject(func(string) error {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	})
	defer e.setReject(nil)
	res, err := e.send(in)
	require.NoError(t, err, "a permanent failure ends the step: no retry")
	require.False(t, res.Sent)
	require.Equal(t, "all_channels_failed", res.Reason)
	row := e.rows(in)["email"]
	require.Equal(t, models.MessageFailed, row.State)
	require.Contains(t, row.Reason, "550")
	require.Contains(t, row.Reason, "No such user here")
	var got models.Invoice
	require.NoError(t, e.db.First(&got, inv.ID).Error)
	require.Equal(t, "all_channels_failed", got.AttentionReason)

	// Running again does not knock on the server again.
	_, err = e.send(in)
	require.NoError(t, err)
	require.Equal(t, models.MessageFailed, e.rows(in)["email"].State)
	require.Equal(t, 1, e.rows(in)["email"].Attempts)
}

func testSMSRetry(t *testing.T, e *sendEnv) {
	for _, f := range []devsink.Failure{devsink.FailHTTP500, devsink.FailThrottled, devsink.FailInternal} {
		c, inv := e.customer(func(c *models.Customer) { c.Mobile = fmt.Sprintf("+3361234%04d", e.n) })
		in := e.input(c, inv, policy.StepSMS)
		e.vonage.FailNext(1, f)
		_, err := e.send(in)
		requireRetryable(t, err)
		row := e.rows(in)["sms"]
		require.Equal(t, models.MessageQueued, row.State)
		require.NotEmpty(t, row.Reason)
		require.Zero(t, e.smsTo(c.Mobile[1:]))

		res, err := e.send(in)
		require.NoError(t, err)
		require.True(t, res.Sent)
		row = e.rows(in)["sms"]
		require.Equal(t, models.MessageSent, row.State)
		require.Equal(t, 2, row.Attempts)
		require.Equal(t, 1, e.smsTo(c.Mobile[1:]))
		require.Equal(t, sms.ClientRef(row.Key), e.vonage.Messages()[len(e.vonage.Messages())-1].ClientRef)
	}

	// A provider that takes the whole request and never answers may have
	// sent the SMS: the row is uncertain and nothing is sent again (the
	// SMS API has no idempotency key; a retry could text twice).
	hang := make(chan struct{})
	var slowRequests atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slowRequests.Add(1)
		<-hang
	}))
	defer slow.Close()
	defer close(hang)
	saved := e.acts.SMS
	e.acts.SMS = sms.New(sms.Config{BaseURL: slow.URL, APIKey: "key", APISecret: "secret", From: "Relance", Timeout: 200 * time.Millisecond})
	defer func() { e.acts.SMS = saved }()
	c, inv := e.customer(nil)
	in := e.input(c, inv, policy.StepSMS)
	res, err := e.send(in)
	require.NoError(t, err, "not retried")
	require.True(t, res.Sent, "uncertain counts as handed over")
	row := e.rows(in)["sms"]
	require.Equal(t, models.MessageUncertain, row.State)
	require.Contains(t, row.Reason, "deadline exceeded")
	_, err = e.send(in)
	require.NoError(t, err)
	require.EqualValues(t, 1, slowRequests.Load(), "an uncertain SMS is never sent again")

	// A provider that cannot be reached had nothing: retried.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	require.NoError(t, ln.Close())
	e.acts.SMS = sms.New(sms.Config{BaseURL: "http://" + dead, APIKey: "key", APISecret: "secret", From: "Relance", Timeout: 200 * time.Millisecond})
	c, inv = e.customer(nil)
	in = e.input(c, inv, policy.StepSMS)
	_, err = e.send(in)
	requireRetryable(t, err)
	require.Equal(t, models.MessageQueued, e.rows(in)["sms"].State)
}

func testSMSPermanent(t *testing.T, e *sendEnv) {
	c, inv := e.customer(func(c *models.Customer) { c.Mobile = "+33699999999" })
	in := e.input(c, inv, policy.StepSMS)
	e.vonage.RejectNumber("33699999999", 6, "Unroutable message - rejected")
	requests := e.vonage.Requests()
	res, err := e.send(in)
	require.NoError(t, err)
	require.False(t, res.Sent)
	row := e.rows(in)["sms"]
	require.Equal(t, models.MessageFailed, row.State)
	require.Contains(t, row.Reason, "status 6: Unroutable message - rejected")
	_, err = e.send(in)
	require.NoError(t, err)
	require.Equal(t, requests+1, e.vonage.Requests(), "no second request for a refused SMS")
}

func testLetter(t *testing.T, e *sendEnv) {
	// No email: the reminder goes by post.
	c, inv := e.customer(func(c *models.Customer) { c.Email = "" })
	in := e.input(c, inv, policy.StepReminder)
	fails := 2
	e.print.mu.Lock()
	e.print.fail = func() (int, string) {
		if fails > 0 {
			fails--
			return 503, `{"error":{"message":"maintenance"}}`
		}
		return 0, ""
	}
	e.print.mu.Unlock()
	for i := 0; i < 2; i++ {
		_, err := e.send(in)
		requireRetryable(t, err)
		row := e.rows(in)["post"]
		require.Equal(t, models.MessageQueued, row.State)
		require.Contains(t, row.Reason, "maintenance")
	}
	res, err := e.send(in)
	require.NoError(t, err)
	require.True(t, res.Sent)
	row := e.rows(in)["post"]
	require.Equal(t, models.MessageSent, row.State)
	require.Equal(t, 3, row.Attempts)
	require.Regexp(t, `^ltr_\d+$`, row.ProviderID)
	require.Equal(t, models.MessageSkipped, e.rows(in)["email"].State)
	require.Equal(t, string(policy.ReasonEmailMissing), e.rows(in)["email"].Reason)

	// The service refuses the address: failed, with its reason, no retry.
	c2, inv2 := e.customer(func(c *models.Customer) { c.Email = "" })
	in2 := e.input(c2, inv2, policy.StepReminder)
	e.print.mu.Lock()
	e.print.fail = func() (int, string) {
		return 422, `{"error":{"message":"to.address_zip must be a valid postal code"}}`
	}
	e.print.mu.Unlock()
	defer func() { e.print.mu.Lock(); e.print.fail = nil; e.print.mu.Unlock() }()
	before, _ := e.print.counts()
	res, err = e.send(in2)
	require.NoError(t, err)
	require.False(t, res.Sent)
	row = e.rows(in2)["post"]
	require.Equal(t, models.MessageFailed, row.State)
	require.Contains(t, row.Reason, "to.address_zip must be a valid postal code")
	_, err = e.send(in2)
	require.NoError(t, err)
	after, _ := e.print.counts()
	require.Equal(t, before+1, after)
}

func testBadContactData(t *testing.T, e *sendEnv) {
	mails, texts := len(e.smtp.Messages()), e.vonage.Requests()
	_, lettersBefore := e.print.counts()
	cases := []struct {
		name    string
		kind    policy.StepKind
		mod     func(*models.Customer)
		reason  string
		refused map[string]string
	}{
		{"landline for an SMS", policy.StepSMS, func(c *models.Customer) { c.Mobile, c.Phone = "+33123456789", "" },
			string(policy.ReasonNotAMobile), map[string]string{"sms": string(policy.ReasonNotAMobile)}},
		{"garbage number for an SMS", policy.StepSMS, func(c *models.Customer) { c.Mobile, c.Phone = "call me", "" },
			string(policy.ReasonMobileInvalid), map[string]string{"sms": string(policy.ReasonMobileInvalid)}},
		{"unparsable email and no address", policy.StepReminder, func(c *models.Customer) { c.Email, c.AddressLine1, c.City = "jean@@example", "", "" },
			string(policy.ReasonNoChannel), map[string]string{"email": string(policy.ReasonEmailInvalid), "post": string(policy.ReasonNoPostalAddress)}},
		{"no email and no address", policy.StepFinalReminder, func(c *models.Customer) { c.Email, c.AddressLine1, c.City = "", "", "" },
			string(policy.ReasonNoChannel), map[string]string{"email": string(policy.ReasonEmailMissing), "post": string(policy.ReasonNoPostalAddress)}},
	}
	for _, tc := range cases {
		c, inv := e.customer(tc.mod)
		in := e.input(c, inv, tc.kind)
		for attempt := 0; attempt < 2; attempt++ {
			res, err := e.send(in)
			require.NoError(t, err, tc.name)
			require.True(t, res.Skipped, tc.name)
			require.Equal(t, tc.reason, res.Reason, tc.name)
		}
		rows := e.rows(in)
		require.Len(t, rows, len(tc.refused), tc.name)
		for ch, reason := range tc.refused {
			require.Equal(t, models.MessageSkipped, rows[ch].State, "%s %s", tc.name, ch)
			require.Equal(t, reason, rows[ch].Reason, "%s %s", tc.name, ch)
		}
		var got models.Invoice
		require.NoError(t, e.db.First(&got, inv.ID).Error)
		require.Equal(t, tc.reason, got.AttentionReason, tc.name)
	}
	_, lettersAfter := e.print.counts()
	require.Equal(t, mails, len(e.smtp.Messages()))
	require.Equal(t, texts, e.vonage.Requests())
	require.Equal(t, lettersBefore, lettersAfter)
}

// TestSMSRateThroughSendStep pushes three times the rate of SMS steps
// through SendStep at once, with one shared client as in a worker process;
// the stand-in must never see more than the rate in any one-second window.
func TestSMSRateThroughSendStep(t *testing.T) {
	const rate, total = 5, 15
	gdb := testkit.Postgres(t)
	e := newSendEnv(t, gdb)
	vs := httptest.NewServer(e.vonage)
	defer vs.Close()
	e.acts.SMS = sms.New(sms.Config{BaseURL: vs.URL, APIKey: "key", APISecret: "secret", From: "Relance", RatePerSecond: rate})
	var ins []activities.SendInput
	for i := 0; i < total; i++ {
		c, inv := e.customer(func(c *models.Customer) { c.Mobile = fmt.Sprintf("+336100%05d", i) })
		ins = append(ins, e.input(c, inv, policy.StepSMS))
	}
	var wg sync.WaitGroup
	errs := make(chan error, total)
	for _, in := range ins {
		wg.Add(1)
		go func(in activities.SendInput) {
			defer wg.Done()
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestActivityEnvironment()
			env.RegisterActivity(e.acts)
			_, err := env.ExecuteActivity(e.acts.SendStep, in)
			errs <- err
		}(in)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	var arrivals []time.Time
	for _, m := range e.vonage.Messages() {
		arrivals = append(arrivals, m.Received)
	}
	require.Len(t, arrivals, total)
	got := testkit.MaxInWindow(arrivals, time.Second)
	t.Logf("max SMS in a one-second window at the stand-in: %d (rate %d)", got, rate)
	require.LessOrEqual(t, got, rate)
}

// smsBurstWorkflow runs one SendStep per input on the SMS task queue, all
// at once, as many journeys reaching an SMS step together would.
func smsBurstWorkflow(ctx workflow.Context, ins []activities.SendInput) (int, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           workflows.SMSTaskQueue,
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	var a *activities.Activities
	futures := make([]workflow.Future, len(ins))
	for i, in := range ins {
		futures[i] = workflow.ExecuteActivity(ctx, a.SendStep, in)
	}
	sent := 0
	for _, f := range futures {
		var res activities.SendResult
		if err := f.Get(ctx, &res); err != nil {
			return sent, err
		}
		if res.Sent {
			sent++
		}
	}
	return sent, nil
}

// TestSMSRateAcrossWorkers runs two worker processes' worth of workers
// (worker.New, each with its own SMS client and its own SQLLimiter on the
// shared database, as cmd/relance wires them) against a real Temporal dev
// server, and pushes three times the rate of SMS steps through the SMS task
// queue at once. Each in-process limiter alone would allow the rate, so two
// would allow twice; and the task queue's own limit is a token bucket per
// partition: without the shared limiter this test saw 8 SMS in one second
// at a rate of 5.
func TestSMSRateAcrossWorkers(t *testing.T) {
	const rate, total = 5, 15
	_, tc := testkit.DevServer(t)
	gdb := testkit.Postgres(t)
	e := newSendEnv(t, gdb)
	vs := httptest.NewServer(e.vonage)
	defer vs.Close()

	var ws []sdkworker.Worker
	for i := 0; i < 2; i++ {
		acts := *e.acts
		sqlDB, err := gdb.DB()
		require.NoError(t, err)
		acts.SMS = sms.New(sms.Config{BaseURL: vs.URL, APIKey: "key", APISecret: "secret", From: "Relance", RatePerSecond: rate,
			Limiter: sms.NewSQLLimiter(sqlDB, "postgres", "vonage", rate)})
		ws = append(ws, worker.New(tc, &acts, worker.Options{SMSPerSecond: rate})...)
	}
	driver := sdkworker.New(tc, "sms-burst-test", sdkworker.Options{})
	driver.RegisterWorkflow(smsBurstWorkflow)
	ws = append(ws, driver)
	for _, w := range ws {
		require.NoError(t, w.Start())
	}
	defer func() {
		for _, w := range ws {
			w.Stop()
		}
	}()

	var ins []activities.SendInput
	for i := 0; i < total; i++ {
		c, inv := e.customer(func(c *models.Customer) { c.Mobile = fmt.Sprintf("+336200%05d", i) })
		ins = append(ins, e.input(c, inv, policy.StepSMS))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("sms-burst-%d", time.Now().UnixNano()), TaskQueue: "sms-burst-test"}, smsBurstWorkflow, ins)
	require.NoError(t, err)
	var sent int
	require.NoError(t, run.Get(ctx, &sent))
	require.Equal(t, total, sent)

	var arrivals []time.Time
	for _, m := range e.vonage.Messages() {
		arrivals = append(arrivals, m.Received)
	}
	require.Len(t, arrivals, total)
	got := testkit.MaxInWindow(arrivals, time.Second)
	t.Logf("max SMS in a one-second window at the stand-in, two workers: %d (rate %d)", got, rate)
	require.LessOrEqual(t, got, rate)
}
