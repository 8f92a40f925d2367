package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"gorm.io/gorm"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/api"
	"github.com/relance/relance/app"
	"github.com/relance/relance/channels/email"
	"github.com/relance/relance/channels/letter"
	"github.com/relance/relance/config"
	"github.com/relance/relance/devsink"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/inbound"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/portal"
)

const bounceSecret = "bounce-secret-0123456789"

// bounceEnv is a real router with the bounce webhook on (and one with it
// off) on a real database holding one customer, invoice and sent email.
type bounceEnv struct {
	t       *testing.T
	db      *gorm.DB
	on, off *httptest.Server
	adm     models.Administration
	cust    models.Customer
	n       int
}

func newBounceEnv(t *testing.T, gdb *gorm.DB) *bounceEnv {
	t.Helper()
	e := &bounceEnv{t: t, db: gdb}
	org := models.Organization{Name: "Acme", InboxRead: models.ReadManually}
	require.NoError(t, gdb.Create(&org).Error)
	e.adm = models.Administration{OrganizationID: org.ID, Name: "Acme", Country: "FR", TimeZone: "Europe/Paris", Currency: "EUR",
		Language: "fr", AdministrationSettings: models.DefaultAdministrationSettings(),
		CompanyDetails: models.CompanyDetails{CompanyName: "Acme SAS", SenderEmail: "factures@acme.example",
			BankDetails: "IBAN NL91 ABNA 0417 1643 00", LatePenaltyRate: "8%", UserName: "Sanne Jansen", UserEmail: "sanne@example.com", UserPhone: "+31 20 123 4568"}}
	require.NoError(t, gdb.Create(&e.adm).Error)
	e.cust = models.Customer{AdministrationID: e.adm.ID, ExternalRef: "C-1", Name: "Durand SA", Language: "fr", Country: "FR",
		Email: "jean.dupont@client-durand.example", AddressLine1: "12 avenue Foch", PostalCode: "69006", City: "Lyon",
		CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: "tok-bounce"}
	require.NoError(t, gdb.Create(&e.cust).Error)
	serve := func(secret string) *httptest.Server {
		cfg := config.Config{MaxBodyBytes: 4096, MaxImportBytes: 1 << 20, Day: 24 * time.Hour, PortalSecret: "test-secret-test-secret"}
		cfg.SMTP.BounceSecret = secret
		srv := httptest.NewServer(api.NewRouter(api.Deps{App: app.New(app.Options{DB: gdb}), Inbound: inbound.NewRecorder(gdb, nil), Config: cfg, Portal: portal.Links{BaseURL: "http://portal.test", Secret: []byte("s")}}))
		t.Cleanup(srv.Close)
		return srv
	}
	e.on, e.off = serve(bounceSecret), serve("")
	return e
}

// invoice creates an open invoice of the customer.
func (e *bounceEnv) invoice() models.Invoice {
	e.t.Helper()
	e.n++
	now := time.Now().UTC()
	inv := models.Invoice{AdministrationID: e.adm.ID, CustomerID: e.cust.ID, Number: fmt.Sprintf("F-%d", e.n), IssueDate: now, DueDate: now,
		Currency: "EUR", AmountMinor: 123456, OpenMinor: 123456, Status: models.InvoiceOpen,
		WorkflowID: fmt.Sprintf("invoice:%d:F-%d", e.adm.ID, e.n)}
	require.NoError(e.t, e.db.Create(&inv).Error)
	return inv
}

// sentEmail stores an email as SendStep leaves it once the relay took it,
// with the Message-ID channels/email gives it as provider ID; state may be
// sent or uncertain.
func (e *bounceEnv) sentEmail(state models.MessageState) (models.Message, models.Invoice) {
	e.t.Helper()
	inv := e.invoice()
	key := inv.WorkflowID + "/10/reminder/email"
	now := time.Now().UTC()
	m := models.Message{Key: key, AdministrationID: e.adm.ID, CustomerID: e.cust.ID, InvoiceID: &inv.ID, WorkflowID: inv.WorkflowID,
		Step: 1, Kind: "reminder", Channel: "email", State: state, Recipient: e.cust.Email, Subject: "Rappel",
		BodyText: "Rappel", ProviderID: email.MessageID(key, e.adm.SenderEmail), SentAt: &now, Attempts: 1}
	require.NoError(e.t, e.db.Create(&m).Error)
	return m, inv
}

func (e *bounceEnv) message(id int64) models.Message {
	e.t.Helper()
	var m models.Message
	require.NoError(e.t, e.db.First(&m, id).Error)
	return m
}

func (e *bounceEnv) attention(invoiceID int64) string {
	e.t.Helper()
	var inv models.Invoice
	require.NoError(e.t, e.db.First(&inv, invoiceID).Error)
	return inv.AttentionReason
}

// dsn writes a Postfix-style bounce report about the message with this
// Message-ID; original, when set, is the whole original message (the third
// part), else only its header is returned.
func dsn(messageID, rcpt, action, status, diagnostic string, original []byte) string {
	third := "Content-Type: text/rfc822-headers\n\nFrom: Acme SAS <factures@acme.example>\nTo: " + rcpt +
		"\nSubject: Rappel\nMessage-ID: " + messageID + "\n"
	if original != nil {
		third = "Content-Type: message/rfc822\nContent-Transfer-Encoding: 8bit\n\n" + string(original)
	}
	return `Return-Path: <>
Date: Thu, 15 Jan 2026 10:04:07 +0100 (CET)
From: MAILER-DAEMON@mail.acme.example (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: bounces@relance.acme.example
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="B0UNDARY.1768467847/mail.acme.example"
Message-Id: <20260115090407.4XkQ2D1Zr3z9sWk@mail.acme.example>

This is a MIME-encapsulated message.

--B0UNDARY.1768467847/mail.acme.example
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.acme.example.

--B0UNDARY.1768467847/mail.acme.example
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.acme.example
Arrival-Date: Thu, 15 Jan 2026 10:04:05 +0100 (CET)

Final-Recipient: rfc822; ` + rcpt + `
Original-Recipient: rfc822;` + rcpt + `
Action: ` + action + `
Status: ` + status + `
Remote-MTA: dns; mx1.client-durand.example
Diagnostic-Code: smtp; ` + diagnostic + `

--B0UNDARY.1768467847/mail.acme.example
Content-Description: Undelivered Message
` + third + `
--B0UNDARY.1768467847/mail.acme.example--
`
}

const unknownUser = "550 5.1.1 <jean.dupont@client-durand.example>: Recipient address rejected: User unknown in virtual mailbox table"

// postBounce posts body as the MTA's pipe does; auth is the Authorization
// header ("" for none), query the query string.
func postBounce(t *testing.T, srv *httptest.Server, auth, query, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/email/bounce"+query, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

func (e *bounceEnv) post(body string) (int, string) {
	e.t.Helper()
	return postBounce(e.t, e.on, "Bearer "+bounceSecret, "", "message/rfc822", body)
}

func problemDetail(t *testing.T, body string) string {
	t.Helper()
	var p api.Problem
	require.NoError(t, json.Unmarshal([]byte(body), &p), body)
	return p.Detail
}

func TestEmailBounceWebhook(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		e := newBounceEnv(t, gdb)
		t.Run("off without a secret, 401 without the right one", func(t *testing.T) { testBounceAuth(t, e) })
		t.Run("failed: the email fails, the invoice is flagged, once", func(t *testing.T) { testBounceFailed(t, e) })
		t.Run("failed overrides uncertain; provider ID without brackets", func(t *testing.T) { testBounceUncertain(t, e) })
		t.Run("delayed, then failed, then a late delay", func(t *testing.T) { testBounceDelayed(t, e) })
		t.Run("delivered and relayed", func(t *testing.T) { testBounceDelivered(t, e) })
		t.Run("a delivery report confirms an uncertain email", func(t *testing.T) { testReportConfirmsUncertain(t, e) })
		t.Run("not a DSN, unknown message, wrong type, too big", func(t *testing.T) { testBounceRefusals(t, e) })
		t.Run("a contact's address is marked on the contact, a copy's bounce leaves the email", func(t *testing.T) { testBounceContacts(t, e) })
	})
}

// testBounceContacts: an email to a billing contact, with a contact in
// copy and the administration's archive in blind copy. Each bounce marks
// the address where it came from, never the customer's own address.
func testBounceContacts(t *testing.T, e *bounceEnv) {
	billing := models.Contact{CustomerID: e.cust.ID, Name: "Anne Compta", Email: "compta@client-durand.example", Roles: models.ContactRoles{policy.RoleBilling}, Source: "api"}
	boss := models.Contact{CustomerID: e.cust.ID, Name: "Paul Daf", Email: "daf@client-durand.example", Roles: models.ContactRoles{policy.RoleBilling}, CC: true, Source: "api"}
	require.NoError(t, e.db.Create(&billing).Error)
	require.NoError(t, e.db.Create(&boss).Error)
	t.Cleanup(func() { e.db.Where("customer_id = ?", e.cust.ID).Delete(&models.Contact{}) })
	const archive = "archive@acme.example"
	send := func() (models.Message, models.Invoice) {
		m, inv := e.sentEmail(models.MessageSent)
		require.NoError(t, e.db.Model(&m).Updates(map[string]any{"recipient": billing.Email,
			"to_addresses": models.AddressList{billing.Email}, "cc_addresses": models.AddressList{boss.Email}, "bcc_addresses": models.AddressList{archive}}).Error)
		return e.message(m.ID), inv
	}
	customer := func() models.Customer {
		var c models.Customer
		require.NoError(t, e.db.First(&c, e.cust.ID).Error)
		return c
	}
	contact := func(id int64) models.Contact {
		var c models.Contact
		require.NoError(t, e.db.First(&c, id).Error)
		return c
	}
	// The earlier subtests bounced the customer's own address: it is good again.
	require.NoError(t, e.db.Model(&models.Customer{}).Where("id = ?", e.cust.ID).Update("bounced_email", "").Error)
	before := customer().BouncedEmail

	// The archive copy bounced: nobody's address, nothing to record.
	m, inv := send()
	code, res := e.post(dsn(m.ProviderID, archive, "failed", "5.1.1", "550 5.1.1 no such user", nil))
	require.Equal(t, http.StatusOK, code, res)
	require.Equal(t, "ignored", result(t, res))
	require.Equal(t, models.MessageSent, e.message(m.ID).State)
	require.Empty(t, e.attention(inv.ID))

	// The copy bounced: the email reached its recipient and stays sent;
	// the contact in copy is marked and the invoice flagged.
	code, res = e.post(dsn(m.ProviderID, boss.Email, "failed", "5.1.1", "550 5.1.1 no such user", nil))
	require.Equal(t, http.StatusOK, code, res)
	require.Equal(t, "recorded", result(t, res))
	require.Equal(t, models.MessageSent, e.message(m.ID).State)
	require.Empty(t, e.message(m.ID).DeliveryStatus)
	require.Equal(t, boss.Email, contact(boss.ID).BouncedEmail)
	require.Empty(t, contact(billing.ID).BouncedEmail)
	require.Equal(t, before, customer().BouncedEmail, "the customer's own address did not bounce")
	require.Equal(t, domain.AttentionEmailBounced, e.attention(inv.ID))
	code, res = e.post(dsn(m.ProviderID, boss.Email, "failed", "5.1.1", "550 5.1.1 no such user", nil))
	require.Equal(t, http.StatusOK, code, res)
	require.Equal(t, "duplicate", result(t, res))

	// The recipient bounced: the email failed, the billing contact is
	// marked, the customer's address is still good.
	m2, inv2 := send()
	code, res = e.post(dsn(m2.ProviderID, billing.Email, "failed", "5.1.1", "550 5.1.1 no such user", nil))
	require.Equal(t, http.StatusOK, code, res)
	require.Equal(t, "recorded", result(t, res))
	require.Equal(t, models.MessageFailed, e.message(m2.ID).State)
	require.Equal(t, billing.Email, contact(billing.ID).BouncedEmail)
	require.Equal(t, before, customer().BouncedEmail)
	require.Equal(t, domain.AttentionEmailBounced, e.attention(inv2.ID))

	// The channel choice now leaves both contacts out: the invoice goes to
	// the customer's own address again.
	var cs []models.Contact
	require.NoError(t, e.db.Where("customer_id = ?", e.cust.ID).Find(&cs).Error)
	c := customer()
	d := policy.Decide(policy.StepInvoice, e.adm.ChannelSettings(), c.ChannelSettings(models.PolicyContacts(cs)...))
	require.Equal(t, []string{e.cust.Email}, d.EmailTo)
	require.Empty(t, d.EmailCc)
}

func testBounceAuth(t *testing.T, e *bounceEnv) {
	m, inv := e.sentEmail(models.MessageSent)
	body := dsn(m.ProviderID, e.cust.Email, "failed", "5.1.1", unknownUser, nil)

	code, res := postBounce(t, e.off, "Bearer "+bounceSecret, "", "message/rfc822", body)
	require.Equal(t, http.StatusNotFound, code, res)
	for _, tc := range []struct{ auth, query string }{
		{"", ""},
		{"Bearer wrong-secret", ""},
		{"Bearer " + bounceSecret + "x", ""},
		{"Basic " + bounceSecret, ""},
		{"", "?secret=wrong"},
		{"Bearer wrong", "?secret=" + bounceSecret}, // a header, when given, is the one checked
	} {
		code, res := postBounce(t, e.on, tc.auth, tc.query, "message/rfc822", body)
		require.Equal(t, http.StatusUnauthorized, code, "%+v: %s", tc, res)
	}
	got := e.message(m.ID)
	require.Equal(t, models.MessageSent, got.State, "a refused request changes nothing")
	require.Empty(t, got.DeliveryStatus)
	require.Empty(t, e.attention(inv.ID))

	// The secret as a query parameter, for an MTA that cannot send headers.
	code, res = postBounce(t, e.on, "", "?secret="+bounceSecret, "text/plain", body)
	require.Equal(t, http.StatusOK, code, res)
	require.Equal(t, "recorded", result(t, res))
	require.Equal(t, models.MessageFailed, e.message(m.ID).State)
}

func testBounceFailed(t *testing.T, e *bounceEnv) {
	m, inv := e.sentEmail(models.MessageSent)
	before := time.Now().UTC().Add(-time.Second)
	code, res := e.post(dsn(m.ProviderID, e.cust.Email, "failed", "5.1.1", unknownUser, nil))
	require.Equal(t, http.StatusOK, code, res)
	require.Equal(t, "recorded", result(t, res))

	got := e.message(m.ID)
	require.Equal(t, models.MessageFailed, got.State)
	require.Equal(t, domain.DeliveryBounced, got.DeliveryStatus)
	require.Equal(t, "bounced: 5.1.1 "+unknownUser, got.Reason)
	require.NotNil(t, got.DeliveryAt)
	require.False(t, got.DeliveryAt.Before(before))
	require.NotNil(t, got.SentAt, "when it was sent stays recorded")
	require.Equal(t, domain.AttentionEmailBounced, e.attention(inv.ID))

	// The admin deals with it; the MTA posts the same report again: the
	// second time changes nothing, and flags nothing again.
	require.NoError(t, e.db.Model(&models.Invoice{}).Where("id = ?", inv.ID).Update("attention_reason", "").Error)
	code, res = e.post(dsn(m.ProviderID, e.cust.Email, "failed", "5.1.1", unknownUser, nil))
	require.Equal(t, http.StatusOK, code, res)
	require.Equal(t, "duplicate", result(t, res))
	require.Equal(t, got, e.message(m.ID))
	require.Empty(t, e.attention(inv.ID))

	// A long diagnostic is cut to the column's 255 bytes, on a character boundary.
	m2, _ := e.sentEmail(models.MessageSent)
	long := "552 5.2.2 Boîte aux lettres pleine " + strings.Repeat("é", 200)
	code, res = e.post(dsn(m2.ProviderID, e.cust.Email, "failed", "5.2.2", long, nil))
	require.Equal(t, http.StatusOK, code, res)
	got2 := e.message(m2.ID)
	require.LessOrEqual(t, len(got2.Reason), 255)
	require.GreaterOrEqual(t, len(got2.Reason), 253)
	require.True(t, strings.HasPrefix(got2.Reason, "bounced: 5.2.2 552 5.2.2 Boîte aux lettres pleine é"), got2.Reason)
	require.True(t, strings.HasSuffix(got2.Reason, "é"), got2.Reason)
}

func testBounceUncertain(t *testing.T, e *bounceEnv) {
	m, inv := e.sentEmail(models.MessageUncertain)
	bare := strings.Trim(m.ProviderID, "<>")
	require.NoError(t, e.db.Model(&models.Message{}).Where("id = ?", m.ID).Update("provider_id", bare).Error)
	code, res := e.post(dsn(m.ProviderID, e.cust.Email, "failed", "5.1.1", unknownUser, nil))
	require.Equal(t, http.StatusOK, code, res)
	require.Equal(t, "recorded", result(t, res))
	got := e.message(m.ID)
	require.Equal(t, models.MessageFailed, got.State)
	require.Equal(t, domain.DeliveryBounced, got.DeliveryStatus)
	require.Equal(t, domain.AttentionEmailBounced, e.attention(inv.ID))
}

func testBounceDelayed(t *testing.T, e *bounceEnv) {
	m, inv := e.sentEmail(models.MessageSent)
	delayed := dsn(m.ProviderID, e.cust.Email, "delayed", "4.4.7", "400 4.4.7 Message delayed", nil)
	code, res := e.post(delayed)
	require.Equal(t, http.StatusOK, code, res)
	require.Equal(t, "recorded", result(t, res))
	got := e.message(m.ID)
	require.Equal(t, models.MessageSent, got.State, "a delay is not a failure")
	require.Equal(t, domain.DeliveryDelayed, got.DeliveryStatus)
	require.NotNil(t, got.DeliveryAt)
	require.Empty(t, got.Reason)
	require.Empty(t, e.attention(inv.ID))

	code, res = e.post(delayed)
	require.Equal(t, http.StatusOK, code, res)
	require.Equal(t, "duplicate", result(t, res))
	require.Equal(t, got, e.message(m.ID))

	// The final verdict comes later; a delay report arriving after it
	// (out of order) does not hide it.
	code, res = e.post(dsn(m.ProviderID, e.cust.Email, "failed", "4.4.7", "Delivery time expired", nil))
	require.Equal(t, http.StatusOK, code, res)
	require.Equal(t, "recorded", result(t, res))
	got = e.message(m.ID)
	require.Equal(t, models.MessageFailed, got.State)
	require.Equal(t, "bounced: 4.4.7 Delivery time expired", got.Reason)
	code, res = e.post(delayed)
	require.Equal(t, http.StatusOK, code, res)
	require.Equal(t, "ignored", result(t, res))
	require.Equal(t, got, e.message(m.ID))
}

func testBounceDelivered(t *testing.T, e *bounceEnv) {
	for _, action := range []string{"delivered", "relayed"} {
		m, inv := e.sentEmail(models.MessageSent)
		code, res := e.post(dsn(m.ProviderID, e.cust.Email, action, "2.0.0", "250 2.0.0 OK", nil))
		require.Equal(t, http.StatusOK, code, res)
		require.Equal(t, "recorded", result(t, res))
		got := e.message(m.ID)
		require.Equal(t, models.MessageSent, got.State)
		require.Equal(t, domain.DeliveryDelivered, got.DeliveryStatus)
		require.Empty(t, got.Reason)
		require.Empty(t, e.attention(inv.ID))
	}
}

func testBounceRefusals(t *testing.T, e *bounceEnv) {
	m, inv := e.sentEmail(models.MessageSent)

	// An out-of-office answer reaching the bounce mailbox: 400 with the reason.
	auto, err := os.ReadFile("../channels/email/testdata/dsn/outlook_autoreply.eml")
	require.NoError(t, err)
	code, res := e.post(strings.ReplaceAll(string(auto), "<9ead096d971d916b95b6f4f750b2f528@acme.example>", m.ProviderID))
	require.Equal(t, http.StatusBadRequest, code, res)
	require.Contains(t, problemDetail(t, res), "not a delivery status notification")
	require.Contains(t, problemDetail(t, res), "multipart/alternative")

	// A report about a message Relance did not send: 200, so the MTA drops it.
	code, res = e.post(dsn("<0123456789abcdef0123456789abcdef@elsewhere.example>", e.cust.Email, "failed", "5.1.1", unknownUser, nil))
	require.Equal(t, http.StatusOK, code, res)
	require.Equal(t, "unknown_message", result(t, res))
	// An SMS with the same provider ID is not an email.
	smsRow := models.Message{Key: inv.WorkflowID + "/20/sms/sms", AdministrationID: e.adm.ID, CustomerID: e.cust.ID, InvoiceID: &inv.ID,
		Kind: "sms", Channel: "sms", State: models.MessageSent, ProviderID: "<sms-lookalike@acme.example>"}
	require.NoError(t, e.db.Create(&smsRow).Error)
	code, res = e.post(dsn(smsRow.ProviderID, e.cust.Email, "failed", "5.1.1", unknownUser, nil))
	require.Equal(t, http.StatusOK, code, res)
	require.Equal(t, "unknown_message", result(t, res))
	require.Equal(t, models.MessageSent, e.message(smsRow.ID).State)

	body := dsn(m.ProviderID, e.cust.Email, "failed", "5.1.1", unknownUser, nil)
	code, res = postBounce(t, e.on, "Bearer "+bounceSecret, "", "application/json", body)
	require.Equal(t, http.StatusUnsupportedMediaType, code, res)

	// Bodies are bounded (at least 10 MiB, whatever RELANCE_MAX_BODY_BYTES).
	big := body + strings.Repeat("x", 10<<20)
	code, res = e.post(big)
	require.Equal(t, http.StatusRequestEntityTooLarge, code, res)

	got := e.message(m.ID)
	require.Equal(t, models.MessageSent, got.State, "refused reports change nothing")
	require.Empty(t, got.DeliveryStatus)
	require.Empty(t, e.attention(inv.ID))

	// A report with the original attached, larger than
	// RELANCE_MAX_BODY_BYTES (4 KiB here), is read.
	original := []byte("From: factures@acme.example\nMessage-ID: " + m.ProviderID + "\nSubject: x\n\n" + strings.Repeat("Ligne du message d'origine.\n", 300))
	withOriginal := dsn(m.ProviderID, e.cust.Email, "failed", "5.1.1", unknownUser, original)
	require.Greater(t, len(withOriginal), 4096)
	code, res = e.post(withOriginal)
	require.Equal(t, http.StatusOK, code, res)
	require.Equal(t, "recorded", result(t, res))
}

// TestEmailBounceEndToEnd sends a reminder through the real sending activity
// and a real SMTP server, makes the bounce report an MTA would write about
// the message the server received (the original attached), posts it, and
// finds the email failed and its invoice flagged.
func TestEmailBounceEndToEnd(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		e := newBounceEnv(t, gdb)
		sink := &devsink.SMTPSink{}
		require.NoError(t, sink.Start("127.0.0.1:0"))
		t.Cleanup(func() { _ = sink.Close() })
		host, port, err := net.SplitHostPort(sink.Addr())
		require.NoError(t, err)
		p, err := strconv.Atoi(port)
		require.NoError(t, err)
		sender, err := email.New(email.Config{Host: host, Port: p, TLS: email.TLSNone, Timeout: 5 * time.Second, HeloName: "relance.test"})
		require.NoError(t, err)
		acts := &activities.Activities{DB: gdb, Email: sender, Portal: portal.Links{BaseURL: "https://relance.test", Secret: []byte("portal-secret")},
			Day: 24 * time.Hour, DefaultFrom: "relance@relance.test"}

		inv := e.invoice()
		in := activities.SendInput{WorkflowID: inv.WorkflowID, AdministrationID: e.adm.ID, CustomerID: e.cust.ID, InvoiceID: inv.ID,
			Step: activities.StepRef{Position: 1, OffsetDays: 10, Kind: policy.StepReminder, Template: "default"},
			Key:  inv.WorkflowID + "/10/reminder", Stage: string(policy.StepReminder)}
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestActivityEnvironment()
		env.RegisterActivity(acts)
		val, err := env.ExecuteActivity(acts.SendStep, in)
		require.NoError(t, err)
		var sent activities.SendResult
		require.NoError(t, val.Get(&sent))
		require.True(t, sent.Sent)

		received := sink.Messages()
		require.Len(t, received, 1)
		mail := received[0]
		require.Equal(t, []string{e.cust.Email}, mail.EnvelopeTo)
		require.NotEmpty(t, mail.MessageID)
		var row models.Message
		require.NoError(t, gdb.Where("invoice_id = ? AND channel = ?", inv.ID, "email").Take(&row).Error)
		require.Equal(t, models.MessageSent, row.State)

		// The receiving server refused it after accepting it from the relay;
		// the relay's report comes back with the message attached. Its line
		// ends are the SMTP server's (CRLF) inside an LF report, as MTAs do.
		report := dsn(mail.MessageID, e.cust.Email, "failed", "5.1.1", unknownUser, mail.Raw)
		code, res := e.post(report)
		require.Equal(t, http.StatusOK, code, res)
		require.Equal(t, "recorded", result(t, res))

		got := e.message(row.ID)
		require.Equal(t, models.MessageFailed, got.State)
		require.Equal(t, domain.DeliveryBounced, got.DeliveryStatus)
		require.Equal(t, "bounced: 5.1.1 "+unknownUser, got.Reason)
		require.Equal(t, domain.AttentionEmailBounced, e.attention(inv.ID))

		// Postfix posts it again (the pipe's exit status was lost): nothing changes.
		code, res = e.post(report)
		require.Equal(t, http.StatusOK, code, res)
		require.Equal(t, "duplicate", result(t, res))
		require.Equal(t, got, e.message(row.ID))

		// The address is dead: the next reminder goes by post, and the
		// timeline says why not by email. A new address is used again.
		var cust models.Customer
		require.NoError(t, gdb.First(&cust, e.cust.ID).Error)
		require.Equal(t, e.cust.Email, cust.BouncedEmail)
		acts.Letters = letter.FolderProvider{Dir: t.TempDir()}
		next := in
		next.Step = activities.StepRef{Position: 2, OffsetDays: 17, Kind: policy.StepReminder, Template: "default"}
		next.Key = inv.WorkflowID + "/17/reminder"
		val, err = env.ExecuteActivity(acts.SendStep, next)
		require.NoError(t, err)
		sent = activities.SendResult{}
		require.NoError(t, val.Get(&sent))
		require.True(t, sent.Sent)
		outcomes := map[policy.Channel]activities.ChannelOutcome{}
		for _, o := range sent.Outcomes {
			outcomes[o.Channel] = o
		}
		require.Equal(t, string(models.MessageSkipped), outcomes[policy.ChannelEmail].State)
		require.Equal(t, string(policy.ReasonEmailBounced), outcomes[policy.ChannelEmail].Reason)
		require.Equal(t, string(models.MessageSent), outcomes[policy.ChannelPost].State)
		require.Len(t, sink.Messages(), 1, "no second email to the dead address")

		require.NoError(t, gdb.Model(&cust).Update("email", "compta@client-durand.example").Error)
		third := in
		third.Step = activities.StepRef{Position: 3, OffsetDays: 24, Kind: policy.StepReminder, Template: "default"}
		third.Key = inv.WorkflowID + "/24/reminder"
		val, err = env.ExecuteActivity(acts.SendStep, third)
		require.NoError(t, err)
		sent = activities.SendResult{}
		require.NoError(t, val.Get(&sent))
		require.True(t, sent.Sent)
		require.Len(t, sink.Messages(), 2)
		require.Equal(t, []string{"compta@client-durand.example"}, sink.Messages()[1].EnvelopeTo)
	})
}

// testReportConfirmsUncertain: an email whose SMTP reply was lost is
// uncertain; a delivered or delayed report proves the mail system had it.
func testReportConfirmsUncertain(t *testing.T, e *bounceEnv) {
	for _, action := range []string{"delivered", "delayed"} {
		m, inv := e.sentEmail(models.MessageUncertain)
		code, res := e.post(dsn(m.ProviderID, e.cust.Email, action, "2.0.0", "250 ok", nil))
		require.Equal(t, http.StatusOK, code, res)
		got := e.message(m.ID)
		require.Equal(t, models.MessageSent, got.State, action)
		require.Equal(t, "confirmed by a delivery status notification", got.Reason)
		require.Empty(t, e.attention(inv.ID))
	}
}
