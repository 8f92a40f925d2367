package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/api"
	"github.com/relance/relance/app"
	"github.com/relance/relance/channels/email"
	"github.com/relance/relance/config"
	"github.com/relance/relance/inbound"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/workflows"
)

// action posts a manual action with an idempotency key; it returns the
// status and decodes a 2xx answer into out.
func (s *stack) action(invoiceID int64, key string, body map[string]any, out *api.ActionView) int {
	s.t.Helper()
	header := http.Header{}
	if key != "" {
		header.Set(api.IdempotencyHeader, key)
	}
	status, raw, _ := s.rawWith("POST", fmt.Sprintf("/api/v1/invoices/%d/actions", invoiceID), body, header)
	if out != nil && status < 300 {
		require.NoError(s.t, json.Unmarshal(raw, out), string(raw))
	}
	return status
}

func (s *stack) timeline(invoiceID int64) api.TimelineView {
	s.t.Helper()
	var v api.TimelineView
	require.Equal(s.t, http.StatusOK, s.call("GET", fmt.Sprintf("/api/v1/invoices/%d/timeline", invoiceID), nil, &v))
	return v
}

// createInvoice creates an invoice of the stack's customer through the API.
func (s *stack) createInvoice(dueInDays int) api.InvoiceView {
	s.t.Helper()
	today := time.Now().UTC()
	var v api.InvoiceView
	require.Equal(s.t, http.StatusCreated, s.call("POST", fmt.Sprintf("/api/v1/administrations/%d/invoices", s.adm.ID), map[string]any{
		"customer_id": s.cust.ID, "number": fmt.Sprintf("ACT-%d", today.UnixNano()), "issue_date": today.Format("2006-01-02"),
		"due_date": today.AddDate(0, 0, dueInDays).Format("2006-01-02"), "amount_minor": 42000,
	}, &v))
	return v
}

// mailsWithSubject counts the emails the SMTP sink received with subject.
func (s *stack) mailsWithSubject(subject string) int {
	n := 0
	for _, m := range s.mail.Messages() {
		if strings.Contains(m.Subject, subject) {
			n++
		}
	}
	return n
}

// TestManualActionEndToEnd: a manual reminder with the admin's own text is
// sent through the API at once, moving the stage; the same request
// repeated with the same idempotency key sends nothing again (counted at
// the SMTP server); bad input and a closed invoice are refused.
func TestManualActionEndToEnd(t *testing.T) {
	s := newStack(t, testkit.SQLite(t), time.Second)
	v := s.createInvoice(60) // the first reminder falls a minute away
	require.Eventually(t, func() bool { return s.invoice(v.ID).Stage == "invoiced" }, testkit.Patience, 100*time.Millisecond)

	body := map[string]any{"kind": "reminder", "subject": "About invoice " + v.Number, "body": "Please call us about it."}
	var first api.ActionView
	require.Equal(t, http.StatusOK, s.action(v.ID, "retry-me-1", body, &first))
	require.Equal(t, api.ActionSent, first.Status)
	require.Equal(t, "retry-me-1", first.IdempotencyKey)
	require.Equal(t, workflows.StageReminded, first.Stage)
	require.Len(t, first.Messages, 1)
	require.Equal(t, "email", first.Messages[0].Channel)
	require.Equal(t, fmt.Sprintf("/api/v1/messages/%d/preview", first.Messages[0].MessageID), first.Messages[0].Preview)
	require.Equal(t, http.StatusOK, s.call("GET", first.Messages[0].Preview, nil, nil))
	require.Eventually(t, func() bool { return s.mailsWithSubject("About invoice "+v.Number) == 1 }, testkit.Patience, 50*time.Millisecond)

	// The client did not see the answer and retries: the same outcome, no
	// second email.
	var retried api.ActionView
	require.Equal(t, http.StatusOK, s.action(v.ID, "retry-me-1", body, &retried))
	require.Equal(t, first.Messages, retried.Messages)
	var rows int64
	require.NoError(t, s.db.Model(&models.Message{}).Where("invoice_id = ? AND manual = ?", v.ID, true).Count(&rows).Error)
	require.EqualValues(t, 1, rows, "one outbox row for the action")
	require.Equal(t, 1, s.mailsWithSubject("About invoice "+v.Number), "the retry sent a second email")

	// The stage moved at once, on the row and in the journey.
	got := s.invoice(v.ID)
	require.Equal(t, "reminded", got.Stage)
	require.Equal(t, workflows.StageReminded, got.Journey.Stage)

	// A send that takes longer than the request's wait (the mail server
	// holds it) answers 202 pending; the journey sends it, and the retry
	// with the same key answers with that outcome.
	release := make(chan struct{})
	s.onRcpt.Store(s.cust.Email, func() { <-release })
	impatient := httptest.NewServer(api.NewRouter(api.Deps{App: app.New(app.Options{DB: s.db, Temporal: s.tc, ActionWait: 300 * time.Millisecond}),
		Config: config.Config{MaxBodyBytes: 1 << 20, MaxImportBytes: 1 << 20, Day: s.day, PortalSecret: "e2e-secret-e2e-secret"}}))
	defer impatient.Close()
	slowBody := map[string]any{"kind": "reminder", "subject": "Slow " + v.Number, "body": "Take your time."}
	fast := s.api
	s.api = impatient
	var pending api.ActionView
	require.Equal(t, http.StatusAccepted, s.action(v.ID, "slow-1", slowBody, &pending))
	s.api = fast
	require.Equal(t, api.ActionPending, pending.Status)
	require.Equal(t, "slow-1", pending.IdempotencyKey)
	close(release)
	s.onRcpt.Delete(s.cust.Email)
	var settled api.ActionView
	require.Equal(t, http.StatusOK, s.action(v.ID, "slow-1", slowBody, &settled))
	require.Equal(t, api.ActionSent, settled.Status)
	require.Eventually(t, func() bool { return s.mailsWithSubject("Slow "+v.Number) == 1 }, testkit.Patience, 50*time.Millisecond)

	// Bad input.
	planned := s.timeline(v.ID).Planned
	require.NotEmpty(t, planned)
	require.Equal(t, http.StatusUnprocessableEntity, s.action(v.ID, "", map[string]any{"kind": string(planned[0].Kind),
		"step": planned[0].Position, "body": "my own words"}, nil), "the text of an automatic step cannot be edited")
	require.Equal(t, http.StatusBadRequest, s.action(v.ID, "", map[string]any{"kind": "fax"}, nil))
	require.Equal(t, http.StatusBadRequest, s.action(v.ID, "", map[string]any{"kind": "reminder", "channels": []string{"pigeon"}}, nil))
	require.Equal(t, http.StatusBadRequest, s.action(v.ID, "not a key!", body, nil))
	require.Equal(t, http.StatusUnprocessableEntity, s.action(v.ID, "", map[string]any{"kind": "statement"}, nil),
		"the journey has no statement step")

	// Paid: nothing more to send.
	require.Equal(t, http.StatusCreated, s.call("POST", fmt.Sprintf("/api/v1/invoices/%d/payments", v.ID),
		map[string]any{"amount_minor": 42000, "currency": "EUR"}, nil))
	require.Equal(t, http.StatusUnprocessableEntity, s.action(v.ID, "after-paid", body, nil))
	require.Equal(t, 1, s.mailsWithSubject("About invoice "+v.Number))
}

// TestTimelineEndToEnd: a journey that went through a send, a bounce, a
// skip, a pause and its resume, an email submission, a reminder and a
// payment shows them in that order; the planned reminder's date and
// channels, read while paused, are what was then sent.
func TestTimelineEndToEnd(t *testing.T) {
	const day = 2 * time.Second
	s := newStack(t, testkit.SQLite(t), day)
	// The customer takes no SMS: the journey's SMS step is skipped.
	require.NoError(t, s.db.Model(&s.cust).Update("send_sms", false).Error)
	var j api.JourneyView
	require.Equal(t, http.StatusCreated, s.call("POST", fmt.Sprintf("/api/v1/administrations/%d/journeys", s.adm.ID), map[string]any{
		"name": "timeline", "min_gap_days": 1, "steps": []map[string]any{
			{"timing": "at_issue", "kind": "invoice"},
			{"offset_days": 2, "kind": "sms"},
			{"offset_days": 12, "kind": "reminder"},
			{"offset_days": 40, "kind": "final_reminder"},
		}}, &j))
	require.Equal(t, http.StatusAccepted, s.call("PUT", fmt.Sprintf("/api/v1/administrations/%d/default-journey", s.adm.ID),
		map[string]any{"journey_id": j.ID}, nil))
	v := s.createInvoice(2)

	// The invoice email goes, and bounces.
	var invMail models.Message
	require.Eventually(t, func() bool {
		return s.db.Where("invoice_id = ? AND channel = ? AND state = ?", v.ID, "email", models.MessageSent).First(&invMail).Error == nil
	}, testkit.Patience, 50*time.Millisecond)
	_, err := inbound.NewRecorder(s.db, nil).RecordBounce(context.Background(), email.DSN{MessageID: invMail.ProviderID,
		Recipients: []email.DSNRecipient{{FinalRecipient: s.cust.Email, Action: "failed", Status: "5.1.1", DiagnosticCode: "550 5.1.1 User unknown"}}})
	require.NoError(t, err)

	// The SMS step is skipped; then the invoice is paused and resumed.
	require.Eventually(t, func() bool {
		return slices.ContainsFunc(s.timeline(v.ID).Entries, func(e api.TimelineEntryView) bool {
			return e.Message != nil && e.Message.StepKind == policy.StepSMS && e.Message.State == string(models.MessageSkipped)
		})
	}, testkit.Patience, 100*time.Millisecond)
	require.Equal(t, http.StatusOK, s.call("POST", fmt.Sprintf("/api/v1/invoices/%d/pause", v.ID), map[string]any{"reason": "customer called"}, nil))
	paused := s.timeline(v.ID)
	require.NotEmpty(t, paused.Planned)
	next := paused.Planned[0]
	require.True(t, next.Next)
	require.Equal(t, policy.StepReminder, next.Kind)
	require.Equal(t, []policy.Channel{policy.ChannelPost}, next.Channels, "the email bounced: the reminder would go by post now")
	require.Equal(t, http.StatusOK, s.call("POST", fmt.Sprintf("/api/v1/invoices/%d/resume", v.ID), map[string]any{"reason": "no answer"}, nil))
	require.Equal(t, http.StatusOK, s.call("POST", fmt.Sprintf("/api/v1/customers/%d/provided-email", s.cust.ID),
		map[string]any{"email": "new@customer.example"}, nil))

	// The reminder goes as planned; then the invoice is paid.
	var reminders []models.Message
	require.Eventually(t, func() bool {
		return s.db.Where("invoice_id = ? AND kind = ? AND state = ?", v.ID, "reminder", models.MessageSent).Find(&reminders).Error == nil && len(reminders) > 0
	}, testkit.Patience, 100*time.Millisecond)
	var sentOn []policy.Channel
	for _, m := range reminders {
		sentOn = append(sentOn, policy.Channel(m.Channel))
		require.False(t, m.SentAt.Before(next.At.Add(-time.Second)), "the reminder went before its planned date %s: %s", next.At, m.SentAt)
	}
	require.Equal(t, next.Channels, sentOn, "what was planned is what was sent")
	require.Equal(t, http.StatusCreated, s.call("POST", fmt.Sprintf("/api/v1/invoices/%d/payments", v.ID),
		map[string]any{"amount_minor": 42000, "currency": "EUR", "reference": "bank 123"}, nil))

	tl := s.timeline(v.ID)
	require.Empty(t, tl.Planned, "a paid invoice plans nothing")
	var seq []string
	for i, e := range tl.Entries {
		if i > 0 {
			require.False(t, e.At.Before(tl.Entries[i-1].At), "entries in time order")
		}
		label := e.Kind
		if e.Message != nil {
			label += ":" + string(e.Message.StepKind) + ":" + e.Message.Channel + ":" + e.Message.State
			require.NotEmpty(t, e.Message.Preview)
		}
		if e.Kind == "delivery" {
			label = "delivery:" + e.Detail
		}
		seq = append(seq, label)
	}
	want := []string{"message:invoice:email:failed", "delivery:bounced", "message:sms:sms:skipped", "paused", "resumed",
		"email_submitted", "message:reminder:post:sent", "payment"}
	var got []string
	for _, l := range seq {
		if slices.Contains(want, l) {
			got = append(got, l)
		}
	}
	require.Equal(t, want, got, "the timeline: %v", seq)
}
