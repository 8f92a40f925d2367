package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"
	"gorm.io/gorm"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/api"
	"github.com/relance/relance/app"
	"github.com/relance/relance/auth"
	"github.com/relance/relance/channels/email"
	"github.com/relance/relance/config"
	"github.com/relance/relance/devsink"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/inbound"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/portal"
	"github.com/relance/relance/worker"
	"github.com/relance/relance/workflows"
)

const mtaSecret = "mta-secret-for-inbound"

// inboxEnv is a real router, a real worker with the real email channel
// sending to a loopback SMTP sink, a real Temporal dev server and
// PostgreSQL; two organizations whose customers share an email address.
type inboxEnv struct {
	*apiEnv
	smtp               *devsink.SMTPSink
	readOnlyA          string
	custA, custA2      models.Customer
	custB              models.Customer
	invA               models.Invoice
	caseA              models.CollectionCase
	reminder           models.Message // the email Relance sent custA about invA
	reminderID         string         // its Message-ID
	orgA, orgB         int64
	admA, admB         models.Administration
	firstConv, caseCnv models.Conversation
}

func newInboxEnv(t *testing.T, gdb *gorm.DB, tc client.Client) *inboxEnv {
	t.Helper()
	ctx := context.Background()
	e := &inboxEnv{apiEnv: &apiEnv{t: t, db: gdb, tc: tc}}
	orgA := models.Organization{Name: "A", InboxRead: models.ReadManually}
	orgB := models.Organization{Name: "B", InboxRead: models.ReadManually}
	require.NoError(t, gdb.Create(&orgA).Error)
	require.NoError(t, gdb.Create(&orgB).Error)
	e.orgA, e.orgB = orgA.ID, orgB.ID
	e.admA = models.Administration{OrganizationID: orgA.ID, Name: "Acme", Country: "FR", TimeZone: "Europe/Paris", Currency: "EUR", Language: "fr",
		CompanyDetails: models.CompanyDetails{CompanyName: "Acme SA", SenderEmail: "factures@acme.example", ReplyToEmail: "inbox@acme.example"}, AdministrationSettings: models.DefaultAdministrationSettings()}
	e.admB = models.Administration{OrganizationID: orgB.ID, Name: "Beta", Country: "FR", TimeZone: "Europe/Paris", Currency: "EUR", Language: "fr",
		CompanyDetails: models.CompanyDetails{SenderEmail: "compta@beta.example", ReplyToEmail: "inbox@beta.example"}, AdministrationSettings: models.DefaultAdministrationSettings()}
	require.NoError(t, gdb.Create(&e.admA).Error)
	require.NoError(t, gdb.Create(&e.admB).Error)
	e.apiEnv.admA, e.apiEnv.admB = e.admA, e.admB
	cust := func(adm int64, ref, name, mail string) models.Customer {
		c := models.Customer{AdministrationID: adm, ExternalRef: ref, Name: name, Language: "fr", Email: mail, Country: "FR",
			CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: "tok-" + ref}
		require.NoError(t, gdb.Create(&c).Error)
		return c
	}
	e.custA = cust(e.admA.ID, "IA-1", "Durand SA", "francois@durand.example")
	e.custA2 = cust(e.admA.ID, "IA-2", "Sans Courriel", "")
	// The same person is a customer of B too.
	e.custB = cust(e.admB.ID, "IB-1", "Durand (B)", "francois@durand.example")
	now := time.Now().UTC()
	e.invA = models.Invoice{AdministrationID: e.admA.ID, CustomerID: e.custA.ID, Number: "F-1", IssueDate: now, DueDate: now,
		Currency: "EUR", AmountMinor: 1000, OpenMinor: 1000, Status: models.InvoiceOpen, WorkflowID: "invoice:inbox:F-1"}
	require.NoError(t, gdb.Create(&e.invA).Error)
	e.caseA = models.CollectionCase{AdministrationID: e.admA.ID, CustomerID: e.custA.ID, Period: "2026-11", Stage: models.CaseNoticeOfDefault,
		Currency: "EUR", WorkflowID: "case:inbox:1"}
	require.NoError(t, gdb.Create(&e.caseA).Error)
	// The reminder Relance sent, as SendStep leaves it: provider_id is the
	// Message-ID the email went out with.
	key := "invoice:inbox:F-1/1/email"
	e.reminderID = email.MessageID(key, e.admA.SenderEmail)
	e.reminder = models.Message{Key: key, AdministrationID: e.admA.ID, CustomerID: e.custA.ID, InvoiceID: &e.invA.ID, WorkflowID: "invoice:inbox:F-1",
		Step: 1, Kind: "reminder", Channel: "email", State: models.MessageSent, Recipient: e.custA.Email, Subject: "Rappel – facture F-1",
		ProviderID: e.reminderID, SentAt: &now, Attempts: 1}
	require.NoError(t, gdb.Create(&e.reminder).Error)

	var err error
	e.keyA, _, err = auth.Create(ctx, gdb, orgA.ID, "a")
	require.NoError(t, err)
	e.keyB, _, err = auth.Create(ctx, gdb, orgB.ID, "b")
	require.NoError(t, err)
	svc := app.New(app.Options{DB: gdb, Temporal: tc, Portal: portal.Links{BaseURL: "http://portal.test", Secret: []byte("s")}})
	_, e.readOnlyA, err = svc.CreateAPIKey(ctx, orgA.ID, "monitor", true)
	require.NoError(t, err)

	e.smtp = &devsink.SMTPSink{}
	require.NoError(t, e.smtp.Start("127.0.0.1:0"))
	t.Cleanup(func() { _ = e.smtp.Close() })
	host, port, err := net.SplitHostPort(e.smtp.Addr())
	require.NoError(t, err)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	sender, err := email.New(email.Config{Host: host, Port: p, TLS: email.TLSNone, Timeout: 5 * time.Second, HeloName: "relance.test"})
	require.NoError(t, err)
	acts := &activities.Activities{DB: gdb, Email: sender, Day: 24 * time.Hour, Portal: portal.Links{BaseURL: "http://portal.test", Secret: []byte("s")}}
	wctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- worker.Run(wctx, tc, acts, worker.Options{}) }()
	t.Cleanup(func() { cancel(); <-done })

	cfg := config.Config{MaxBodyBytes: 64 << 10, MaxImportBytes: 1 << 20, Day: 24 * time.Hour, PortalSecret: "test-secret-test-secret"}
	cfg.SMTP.BounceSecret = mtaSecret
	e.srv = httptest.NewServer(api.NewRouter(api.Deps{App: svc, Inbound: inbound.NewRecorder(gdb, nil), Config: cfg,
		Portal: portal.Links{BaseURL: "http://portal.test", Secret: []byte("s")}}))
	t.Cleanup(e.srv.Close)
	return e
}

// pipe posts a raw email to the inbound webhook as the MTA does.
func (e *inboxEnv) pipe(raw string) (int, string) {
	e.t.Helper()
	r := e.do(http.MethodPost, "/webhooks/email/inbound?secret="+mtaSecret, "", strings.NewReader(raw), "message/rfc822")
	return r.status, string(r.body)
}

// reply is the customer's answer to the reminder: testdata's multipart
// email (plain and HTML alternatives and a PDF) answering Message-ID id.
func reply(t *testing.T, id, messageID string) string {
	raw, err := os.ReadFile("../channels/email/testdata/replies/multipart.eml")
	require.NoError(t, err)
	s := strings.ReplaceAll(string(raw), "<0123456789abcdef0123456789abcdef@acme.example>", id)
	return strings.ReplaceAll(s, "<reply-1@durand.example>", messageID)
}

func TestInbox(t *testing.T) {
	gdb := testkit.Postgres(t)
	_, tc := testkit.DevServer(t)
	e := newInboxEnv(t, gdb, tc)
	t.Run("email reply by its headers", func(t *testing.T) { testEmailReplyByHeaders(t, e) })
	t.Run("email reply by its sender", func(t *testing.T) { testEmailReplyBySender(t, e) })
	t.Run("oversized attachment kept without its bytes", func(t *testing.T) { testOversizedAttachment(t, e) })
	t.Run("email webhook bad input", func(t *testing.T) { testEmailWebhookBadInput(t, e) })
	t.Run("list and filters", func(t *testing.T) { testConversationList(t, e) })
	t.Run("read settings", func(t *testing.T) { testReadSettings(t, e) })
	t.Run("unread summary", func(t *testing.T) { testUnreadSummary(t, e) })
	t.Run("tenant isolation", func(t *testing.T) { testInboxIsolation(t, e) })
	t.Run("reply", func(t *testing.T) { testReply(t, e) })
	t.Run("SMS to two organizations sharing a number", func(t *testing.T) { testSMSSharedNumber(t, e) })
}

func testEmailReplyByHeaders(t *testing.T, e *inboxEnv) {
	code, body := e.pipe(reply(t, e.reminderID, "<reply-1@durand.example>"))
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "recorded", result(t, body))

	var conv models.Conversation
	require.NoError(t, e.db.Where("customer_id = ?", e.custA.ID).Take(&conv).Error)
	require.Equal(t, e.orgA, conv.OrganizationID, "filed in the organization that sent the reminder, though B has the address too")
	require.NotNil(t, conv.InvoiceID)
	require.Equal(t, e.invA.ID, *conv.InvoiceID)
	require.True(t, conv.Unread)
	require.Equal(t, "Re: Rappel – facture F-1", conv.Subject)
	e.firstConv = conv

	var d domain.ConversationDetail
	r := e.call(http.MethodGet, fmt.Sprintf("/api/v1/inbox/conversations/%d", conv.ID), e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	r.json(t, &d)
	require.Len(t, d.Messages, 1)
	m := d.Messages[0]
	require.Equal(t, models.Inbound, m.Direction)
	require.Equal(t, "email", m.Channel)
	require.Equal(t, "François Durand <francois@durand.example>", m.Author)
	require.True(t, strings.HasPrefix(m.Body, "Bonjour,\n\nJe paierai la facture vendredi"), m.Body)
	require.Len(t, m.Attachments, 1)
	att := m.Attachments[0]
	require.Equal(t, "virement.pdf", att.FileName)
	require.Empty(t, att.Refused)

	// The attachment downloads as it came, never inline.
	dl := e.call(http.MethodGet, fmt.Sprintf("/api/v1/inbox/attachments/%d", att.ID), e.keyA, nil)
	require.Equal(t, http.StatusOK, dl.status)
	require.True(t, bytes.HasPrefix(dl.body, []byte("%PDF-1.4")))
	require.EqualValues(t, att.Size, len(dl.body))
	require.Contains(t, dl.header.Get("Content-Disposition"), `attachment; filename=virement.pdf`)

	// The MTA delivers it again: filed once.
	code, body = e.pipe(reply(t, e.reminderID, "<reply-1@durand.example>"))
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "duplicate", result(t, body))
	var n int64
	require.NoError(t, e.db.Model(&models.InboxMessage{}).Where("conversation_id = ?", conv.ID).Count(&n).Error)
	require.EqualValues(t, 1, n)
}

func testEmailReplyBySender(t *testing.T, e *inboxEnv) {
	alt := func(to, msgID string) string {
		return "From: Francois <francois@durand.example>\r\nTo: " + to + "\r\nSubject: Autre question\r\nMessage-ID: " + msgID + "\r\n" +
			"In-Reply-To: <not-ours@elsewhere.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n" +
			"--b1\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nO=F9 est ma facture ?\r\n" +
			"--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Où est ma facture ?</p>\r\n--b1--\r\n"
	}
	// The address is a customer's of A and of B, the headers name nothing
	// Relance sent, and the email went to no organization's address:
	// nothing is filed rather than a guess.
	before := e.count(&models.InboxMessage{})
	code, body := e.pipe(alt("someone@else.example", "<alt-1@durand.example>"))
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "ambiguous_sender", result(t, body))
	require.Equal(t, before, e.count(&models.InboxMessage{}))

	// Written to A's reply-to address: A's, in the conversation about the
	// invoice last emailed to the address.
	code, body = e.pipe(alt("Acme <inbox@acme.example>", "<alt-2@durand.example>"))
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "recorded", result(t, body))
	var im models.InboxMessage
	require.NoError(t, e.db.Where("external_id = ?", "email:alt-2@durand.example").Take(&im).Error)
	require.Equal(t, e.firstConv.ID, im.ConversationID)
	require.Equal(t, "Où est ma facture ?", im.Body, "the plain alternative, from Latin-1")

	// An address no customer has.
	code, body = e.pipe(strings.ReplaceAll(alt("inbox@acme.example", "<alt-3@x.example>"), "francois@durand.example", "nobody@x.example"))
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "unknown_sender", result(t, body))
}

func testOversizedAttachment(t *testing.T, e *inboxEnv) {
	big := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, int(email.DefaultReplyLimits.MaxAttachment/4)+1))
	var b strings.Builder
	b.WriteString("From: francois@durand.example\r\nTo: inbox@acme.example\r\nSubject: Re: Rappel\r\nMessage-ID: <big-1@durand.example>\r\n" +
		"In-Reply-To: " + e.reminderID + "\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=big\r\n\r\n" +
		"--big\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVoici la photo du virement.\r\n" +
		"--big\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=photo.png\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for len(big) > 76 {
		b.WriteString(big[:76] + "\r\n")
		big = big[76:]
	}
	b.WriteString(big + "\r\n--big--\r\n")
	code, body := e.pipe(b.String())
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "recorded", result(t, body))
	var im models.InboxMessage
	require.NoError(t, e.db.Where("external_id = ?", "email:big-1@durand.example").Take(&im).Error)
	require.Equal(t, e.firstConv.ID, im.ConversationID)
	require.Equal(t, "Voici la photo du virement.", im.Body)
	var att models.InboxAttachment
	require.NoError(t, e.db.Where("inbox_message_id = ?", im.ID).Take(&att).Error)
	require.Equal(t, "photo.png", att.FileName)
	require.Equal(t, email.DefaultReplyLimits.MaxAttachment+4, att.Size)
	require.Nil(t, att.Data)
	require.Contains(t, att.Refused, "larger than")
	e.call(http.MethodGet, fmt.Sprintf("/api/v1/inbox/attachments/%d", att.ID), e.keyA, nil).problem(t, http.StatusConflict)
}

func testEmailWebhookBadInput(t *testing.T, e *inboxEnv) {
	before := e.count(&models.InboxMessage{})
	good := reply(t, e.reminderID, "<bad-input@durand.example>")
	r := e.do(http.MethodPost, "/webhooks/email/inbound", "", strings.NewReader(good), "message/rfc822")
	r.problem(t, http.StatusUnauthorized)
	r = e.do(http.MethodPost, "/webhooks/email/inbound?secret=wrong", "", strings.NewReader(good), "message/rfc822")
	r.problem(t, http.StatusUnauthorized)
	r = e.do(http.MethodPost, "/webhooks/email/inbound?secret="+mtaSecret, "", strings.NewReader(good), "application/json")
	r.problem(t, http.StatusUnsupportedMediaType)
	for name, raw := range map[string]string{
		"no header":     "this is not an email",
		"no sender":     "Subject: hello\r\n\r\nbody\r\n",
		"cut multipart": "From: francois@durand.example\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nhalf",
	} {
		r = e.do(http.MethodPost, "/webhooks/email/inbound?secret="+mtaSecret, "", strings.NewReader(raw), "message/rfc822")
		p := r.problem(t, http.StatusBadRequest)
		require.Contains(t, p.Detail, "not a readable email", name)
	}
	// Over 25 MiB: refused whole, so that the MTA bounces it to its sender.
	huge := good + strings.Repeat("x", 26<<20)
	r = e.do(http.MethodPost, "/webhooks/email/inbound?secret="+mtaSecret, "", strings.NewReader(huge), "message/rfc822")
	r.problem(t, http.StatusRequestEntityTooLarge)
	require.Equal(t, before, e.count(&models.InboxMessage{}), "bad input files nothing")
}

func testConversationList(t *testing.T, e *inboxEnv) {
	now := time.Now().UTC()
	// An account conversation of custA2 (read), and one about custA's case.
	acc := models.Conversation{OrganizationID: e.orgA, AdministrationID: e.admA.ID, CustomerID: e.custA2.ID, Subject: "Compte", LastMessageAt: now}
	require.NoError(t, e.db.Create(&acc).Error)
	e.caseCnv = models.Conversation{OrganizationID: e.orgA, AdministrationID: e.admA.ID, CustomerID: e.custA.ID, CaseID: &e.caseA.ID, Subject: "Dossier", Unread: true, LastMessageAt: now}
	require.NoError(t, e.db.Create(&e.caseCnv).Error)
	require.NoError(t, e.db.Create(&models.InboxMessage{ConversationID: e.caseCnv.ID, Direction: models.Inbound, Channel: "portal", Author: "Durand", Body: "Plan de paiement ?"}).Error)

	ids := func(query string) []int64 {
		r := e.call(http.MethodGet, "/api/v1/inbox/conversations"+query, e.keyA, nil)
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		var p api.Page[models.Conversation]
		r.json(t, &p)
		out := []int64{}
		for _, c := range p.Data {
			require.Equal(t, e.orgA, c.OrganizationID)
			out = append(out, c.ID)
		}
		return out
	}
	require.Equal(t, []int64{e.firstConv.ID, acc.ID, e.caseCnv.ID}, ids(""))
	require.Equal(t, []int64{e.firstConv.ID, e.caseCnv.ID}, ids("?unread=true"))
	require.Equal(t, []int64{acc.ID}, ids("?unread=false"))
	require.Equal(t, []int64{e.firstConv.ID, e.caseCnv.ID}, ids(fmt.Sprintf("?customer_id=%d", e.custA.ID)))
	require.Equal(t, []int64{e.firstConv.ID}, ids(fmt.Sprintf("?invoice_id=%d", e.invA.ID)))
	require.Equal(t, []int64{e.caseCnv.ID}, ids(fmt.Sprintf("?case_id=%d", e.caseA.ID)))
	require.Equal(t, []int64{e.firstConv.ID, acc.ID, e.caseCnv.ID}, ids(fmt.Sprintf("?administration_id=%d", e.admA.ID)))
	require.Empty(t, ids(fmt.Sprintf("?administration_id=%d", e.admB.ID)), "another organization's administration matches nothing")

	// Pages.
	r := e.call(http.MethodGet, "/api/v1/inbox/conversations?limit=2", e.keyA, nil)
	var p api.Page[models.Conversation]
	r.json(t, &p)
	require.Len(t, p.Data, 2)
	require.Equal(t, acc.ID, p.Next)
	require.Equal(t, []int64{e.caseCnv.ID}, ids(fmt.Sprintf("?limit=2&cursor=%d", p.Next)))

	for _, q := range []string{"?unread=maybe", "?customer_id=x", "?case_id=-1", "?customer=1"} {
		e.call(http.MethodGet, "/api/v1/inbox/conversations"+q, e.keyA, nil).problem(t, http.StatusBadRequest)
	}
}

func (e *inboxEnv) conv(id int64) models.Conversation {
	e.t.Helper()
	var c models.Conversation
	require.NoError(e.t, e.db.First(&c, id).Error)
	return c
}

func testReadSettings(t *testing.T, e *inboxEnv) {
	path := fmt.Sprintf("/api/v1/inbox/conversations/%d", e.caseCnv.ID)
	var s api.OrganizationSettings
	r := e.call(http.MethodGet, "/api/v1/organization/settings", e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	r.json(t, &s)
	require.Equal(t, models.ReadManually, s.InboxReadMode, "manually is the default")

	// manually: opening leaves it unread; the admin marks it.
	require.Equal(t, http.StatusOK, e.call(http.MethodGet, path, e.keyA, nil).status)
	require.True(t, e.conv(e.caseCnv.ID).Unread)
	r = e.call(http.MethodPost, path+"/read", e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.False(t, e.conv(e.caseCnv.ID).Unread)
	require.Equal(t, http.StatusOK, e.call(http.MethodPost, path+"/unread", e.keyA, nil).status)
	require.True(t, e.conv(e.caseCnv.ID).Unread)

	// on_open: opening marks it read, but not with a read-only key.
	e.call(http.MethodPatch, "/api/v1/organization/settings", e.keyA, map[string]any{"inbox_read_mode": "sometimes"}).problem(t, http.StatusBadRequest)
	e.call(http.MethodPatch, "/api/v1/organization/settings", e.readOnlyA, map[string]any{"inbox_read_mode": "on_open"}).problem(t, http.StatusForbidden)
	r = e.call(http.MethodPatch, "/api/v1/organization/settings", e.keyA, map[string]any{"inbox_read_mode": "on_open"})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	r.json(t, &s)
	require.Equal(t, models.ReadOnOpen, s.InboxReadMode)
	require.Equal(t, http.StatusOK, e.call(http.MethodGet, path, e.readOnlyA, nil).status)
	require.True(t, e.conv(e.caseCnv.ID).Unread, "a read-only key changes nothing")
	var d domain.ConversationDetail
	r = e.call(http.MethodGet, path, e.keyA, nil)
	r.json(t, &d)
	require.False(t, d.Conversation.Unread)
	require.False(t, e.conv(e.caseCnv.ID).Unread)
	require.Len(t, d.Messages, 1)

	// Back to manually, the case conversation unread again for the summary.
	r = e.call(http.MethodPatch, "/api/v1/organization/settings", e.keyA, map[string]any{"inbox_read_mode": "manually"})
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, http.StatusOK, e.call(http.MethodPost, path+"/unread", e.keyA, nil).status)
	require.Equal(t, http.StatusOK, e.call(http.MethodGet, path, e.keyA, nil).status)
	require.True(t, e.conv(e.caseCnv.ID).Unread)
}

func testUnreadSummary(t *testing.T, e *inboxEnv) {
	now := time.Now().UTC()
	// custA: the invoice conversation and the case conversation are unread;
	// add one about the account and one read one; custA2 one unread.
	for _, c := range []models.Conversation{
		{OrganizationID: e.orgA, AdministrationID: e.admA.ID, CustomerID: e.custA.ID, Subject: "Compte", Unread: true, LastMessageAt: now},
		{OrganizationID: e.orgA, AdministrationID: e.admA.ID, CustomerID: e.custA.ID, InvoiceID: &e.invA.ID, Subject: "Lu", LastMessageAt: now},
		{OrganizationID: e.orgA, AdministrationID: e.admA.ID, CustomerID: e.custA2.ID, Subject: "Question", Unread: true, LastMessageAt: now},
		{OrganizationID: e.orgB, AdministrationID: e.admB.ID, CustomerID: e.custB.ID, Subject: "B", Unread: true, LastMessageAt: now},
	} {
		require.NoError(t, e.db.Create(&c).Error)
	}
	var s domain.UnreadSummary
	r := e.call(http.MethodGet, "/api/v1/inbox/unread-summary", e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	r.json(t, &s)
	require.Equal(t, 4, s.Total)
	require.Equal(t, []domain.UnreadCount{{ID: e.custA.ID, Unread: 3}, {ID: e.custA2.ID, Unread: 1}}, s.Customers,
		"a customer's count holds its own, its invoices' and its cases' conversations")
	require.Equal(t, []domain.UnreadCount{{ID: e.invA.ID, Unread: 1}}, s.Invoices)
	require.Equal(t, []domain.UnreadCount{{ID: e.caseA.ID, Unread: 1}}, s.Cases)

	r = e.call(http.MethodGet, "/api/v1/inbox/unread-summary", e.keyB, nil)
	r.json(t, &s)
	require.Equal(t, 1, s.Total, "B counts only its own")
	require.Equal(t, []domain.UnreadCount{{ID: e.custB.ID, Unread: 1}}, s.Customers)
	require.Empty(t, s.Invoices)
}

func testInboxIsolation(t *testing.T, e *inboxEnv) {
	path := fmt.Sprintf("/api/v1/inbox/conversations/%d", e.firstConv.ID)
	e.call(http.MethodGet, path, e.keyB, nil).problem(t, http.StatusNotFound)
	e.call(http.MethodPost, path+"/read", e.keyB, nil).problem(t, http.StatusNotFound)
	e.call(http.MethodPost, path+"/unread", e.keyB, nil).problem(t, http.StatusNotFound)
	e.call(http.MethodPost, path+"/replies", e.keyB, map[string]any{"body": "from B"}).problem(t, http.StatusNotFound)
	var att models.InboxAttachment
	require.NoError(t, e.db.Take(&att).Error)
	e.call(http.MethodGet, fmt.Sprintf("/api/v1/inbox/attachments/%d", att.ID), e.keyB, nil).problem(t, http.StatusNotFound)
	r := e.call(http.MethodGet, "/api/v1/inbox/conversations", e.keyB, nil)
	var p api.Page[models.Conversation]
	r.json(t, &p)
	for _, c := range p.Data {
		require.Equal(t, e.orgB, c.OrganizationID)
	}
	require.True(t, e.conv(e.firstConv.ID).Unread, "B's attempts changed nothing")
}

func testReply(t *testing.T, e *inboxEnv) {
	path := fmt.Sprintf("/api/v1/inbox/conversations/%d/replies", e.firstConv.ID)
	before := e.count(&models.InboxMessage{})
	e.call(http.MethodPost, path, e.keyA, map[string]any{"body": "  \n "}).problem(t, http.StatusBadRequest)
	e.call(http.MethodPost, path, e.keyA, map[string]any{}).problem(t, http.StatusBadRequest)
	e.call(http.MethodPost, path, e.keyA, map[string]any{"body": strings.Repeat("é", domain.MaxReplyRunes+1)}).problem(t, http.StatusBadRequest)
	e.call(http.MethodPost, path, e.keyA, map[string]any{"body": strings.Repeat("x", 70<<10)}).problem(t, http.StatusRequestEntityTooLarge)
	e.call(http.MethodPost, path, e.readOnlyA, map[string]any{"body": "ok"}).problem(t, http.StatusForbidden)
	require.Equal(t, before, e.count(&models.InboxMessage{}), "refused replies leave nothing")

	r := e.call(http.MethodPost, path, e.keyA, map[string]any{"body": "Merci, bien reçu.\n\n<b>Cordialement</b>", "author": "Julie"})
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	var v domain.InboxMessageView
	r.json(t, &v)
	require.Equal(t, models.Outbound, v.Direction)
	require.NotNil(t, v.Delivery)
	require.Equal(t, models.MessageQueued, v.Delivery.State)
	require.False(t, e.conv(e.firstConv.ID).Unread, "an answered conversation is read")

	// The worker sends it through the outbox to the customer.
	var got devsink.ReceivedEmail
	deadline := time.Now().Add(testkit.Patience)
	for {
		if msgs := e.smtp.Messages(); len(msgs) > 0 {
			got = msgs[len(msgs)-1]
			break
		}
		require.True(t, time.Now().Before(deadline), "the reply was not emailed")
		time.Sleep(50 * time.Millisecond)
	}
	require.Equal(t, []string{"francois@durand.example"}, got.EnvelopeTo)
	require.Equal(t, "Re: Rappel – facture F-1", got.Subject)
	require.Contains(t, got.Text, "Merci, bien reçu.")
	require.Contains(t, got.Text, "http://portal.test/portal/")
	require.Contains(t, got.HTML, "&lt;b&gt;Cordialement&lt;/b&gt;", "the admin's text is escaped in the HTML")
	require.Contains(t, string(got.Raw), "In-Reply-To: <big-1@durand.example>", "threaded under the customer's last email")
	var row models.Message
	require.NoError(t, e.db.First(&row, v.Delivery.OutboxMessageID).Error)
	deadline = time.Now().Add(testkit.Patience)
	for row.State != models.MessageSent {
		require.True(t, time.Now().Before(deadline), "the outbox row is %s", row.State)
		time.Sleep(50 * time.Millisecond)
		require.NoError(t, e.db.First(&row, v.Delivery.OutboxMessageID).Error)
	}
	require.Equal(t, strings.Trim(got.MessageID, "<>"), strings.Trim(row.ProviderID, "<>"))
	require.Equal(t, domain.ReplyKind, row.Kind)
	require.True(t, row.Manual)
	keepReplyHistory(t, e.tc, row.WorkflowID)

	var d domain.ConversationDetail
	e.call(http.MethodGet, fmt.Sprintf("/api/v1/inbox/conversations/%d", e.firstConv.ID), e.keyA, nil).json(t, &d)
	last := d.Messages[len(d.Messages)-1]
	require.Equal(t, "Julie", last.Author)
	require.Equal(t, models.MessageSent, last.Delivery.State)

	// The customer answers the reply: same conversation, unread again.
	code, body := e.pipe(reply(t, row.ProviderID, "<reply-2@durand.example>"))
	require.Equal(t, http.StatusOK, code, body)
	var im models.InboxMessage
	require.NoError(t, e.db.Where("external_id = ?", "email:reply-2@durand.example").Take(&im).Error)
	require.Equal(t, e.firstConv.ID, im.ConversationID)
	require.True(t, e.conv(e.firstConv.ID).Unread)

	// A customer without an address gets the reply in the portal only.
	var acc models.Conversation
	require.NoError(t, e.db.Where("customer_id = ?", e.custA2.ID).Order("id").Take(&acc).Error)
	r = e.call(http.MethodPost, fmt.Sprintf("/api/v1/inbox/conversations/%d/replies", acc.ID), e.keyA, map[string]any{"body": "Voir le portail."})
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	r.json(t, &v)
	require.Equal(t, models.MessageSkipped, v.Delivery.State)
	require.Equal(t, domain.ReplyNoEmail, v.Delivery.Reason)
}

func testSMSSharedNumber(t *testing.T, e *inboxEnv) {
	const shared = "+33611111111"
	// One person is a customer of A and of B; A and B send from their own
	// numbers.
	require.NoError(t, e.db.Model(&models.Customer{}).Where("id IN ?", []int64{e.custA.ID, e.custB.ID}).Update("mobile", shared).Error)
	require.NoError(t, e.db.Model(&e.admA).Update("sms_sender", "+33700000001").Error)
	require.NoError(t, e.db.Model(&e.admB).Update("sms_sender", "33700000002").Error)
	now := time.Now().UTC()
	texted := func(key string, c models.Customer) {
		require.NoError(t, e.db.Create(&models.Message{Key: key, AdministrationID: c.AdministrationID, CustomerID: c.ID, WorkflowID: "wf",
			Kind: "reminder", Channel: "sms", State: models.MessageSent, Recipient: shared, BodyText: "Rappel", SentAt: &now, Attempts: 1}).Error)
	}
	texted("sms:shared:a", e.custA)
	texted("sms:shared:b", e.custB) // B texted last
	send := func(id, to string) (string, models.Conversation) {
		v := inboundParams(id, "33611111111", "Réponse "+id)
		v.Set("to", to)
		code, body := webhook(t, e.srv, "/webhooks/vonage/inbound", "POST", v)
		require.Equal(t, http.StatusOK, code, body)
		var conv models.Conversation
		var im models.InboxMessage
		if e.db.Where("external_id = ?", "vonage:"+id).Take(&im).Error == nil {
			require.NoError(t, e.db.First(&conv, im.ConversationID).Error)
		}
		return result(t, body), conv
	}
	// An answer to A's number goes to A, though B texted the number last.
	res, conv := send("sh-a", "33700000001")
	require.Equal(t, "recorded", res)
	require.Equal(t, e.orgA, conv.OrganizationID)
	require.Equal(t, e.custA.ID, conv.CustomerID)
	res, conv = send("sh-b", "33700000002")
	require.Equal(t, "recorded", res)
	require.Equal(t, e.orgB, conv.OrganizationID)

	// Both send from the account's shared number and neither texted this
	// person: nothing is filed rather than a guess.
	require.NoError(t, e.db.Model(&models.Administration{}).Where("id IN ?", []int64{e.admA.ID, e.admB.ID}).Update("sms_sender", "").Error)
	require.NoError(t, e.db.Where("key IN ?", []string{"sms:shared:a", "sms:shared:b"}).Delete(&models.Message{}).Error)
	res, _ = send("sh-none", "33700000000")
	require.Equal(t, "ambiguous_sender", res)
	// Once A texts the number, the answer is A's.
	texted("sms:shared:a2", e.custA)
	res, conv = send("sh-a2", "33700000000")
	require.Equal(t, "recorded", res)
	require.Equal(t, e.orgA, conv.OrganizationID)
}

// keepReplyHistory waits for the reply's workflow, replays its history with
// the current code and, with RELANCE_WRITE_HISTORIES=1, commits it to
// workflows/testdata for the replay test (never overwriting one).
func keepReplyHistory(t *testing.T, tc client.Client, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Patience)
	defer cancel()
	var res workflows.InboxReplyResult
	require.NoError(t, tc.GetWorkflow(ctx, id, "").Get(ctx, &res))
	require.Equal(t, string(models.MessageSent), res.State)
	h := &historypb.History{}
	it := tc.GetWorkflowHistory(ctx, id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, ev)
	}
	r := sdkworker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(workflows.InboxReply, workflow.RegisterOptions{Name: workflows.InboxReplyName})
	require.NoError(t, r.ReplayWorkflowHistory(nil, h))
	if os.Getenv("RELANCE_WRITE_HISTORIES") != "1" {
		return
	}
	path := filepath.Join("..", "workflows", "testdata", "inbox_reply_sent.json")
	if _, err := os.Stat(path); err == nil {
		t.Fatalf("%s exists: committed histories are never overwritten", path)
	}
	b, err := protojson.MarshalOptions{Multiline: true, Indent: " "}.Marshal(h)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
}
