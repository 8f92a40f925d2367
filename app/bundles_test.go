package app

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
)

// TestBundleEntry: how the timeline names a bundle request from its row
// and the answer stored with it.
func TestBundleEntry(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	later := t0.Add(48 * time.Hour)
	sentAt := t0.Add(2 * time.Hour)
	answered := t0.Add(3 * time.Hour)
	msgs := map[int64]models.Message{7: {ID: 7, Kind: "reminder", Channel: "email", State: models.MessageSent, Subject: "3 invoices", SentAt: &sentAt}}
	sent := activities.SendResult{Sent: true, Outcomes: []activities.ChannelOutcome{
		{Channel: policy.ChannelEmail, State: "sent", MessageID: 7}, {Channel: policy.ChannelSMS, State: "failed", Reason: "no mobile"}}}
	for _, c := range []struct {
		name    string
		state   models.BundleState
		reason  string
		answer  *activities.BundleAnswer
		want    string
		wantWhy string
		at      time.Time
		msgs    int
		notBef  bool
	}{
		{"waiting", models.BundlePending, "", nil, domain.BundleWaiting, "", t0, 0, false},
		{"waiting again after a gap answer", models.BundlePending, "", &activities.BundleAnswer{NotBefore: &later, Reason: activities.ReasonCustomerGap},
			domain.BundleWaiting, "", t0, 0, false},
		{"held", models.BundleHeld, "", nil, domain.BundleHeld, activities.ReasonBelowMinimum, t0, 0, false},
		{"held with its answer", models.BundleHeld, activities.ReasonBelowMinimum, &activities.BundleAnswer{NotBefore: &later, Reason: activities.ReasonBelowMinimum},
			domain.BundleHeld, activities.ReasonBelowMinimum, t0, 0, true},
		{"sent", models.BundleSent, "", &activities.BundleAnswer{BundleKey: "k", Result: sent}, domain.BundleSent, "", sentAt, 2, false},
		{"sent row whose channels all failed", models.BundleSent, "", &activities.BundleAnswer{BundleKey: "k", Result: activities.SendResult{
			Outcomes: []activities.ChannelOutcome{{Channel: policy.ChannelEmail, State: "failed", Reason: "550"}}}},
			domain.BundleFailed, "", answered, 1, false},
		{"sent row without a readable answer", models.BundleSent, "", nil, domain.BundleSent, "", answered, 0, false},
		{"invoice closed", models.BundleAnswered, "", &activities.BundleAnswer{Result: activities.SendResult{Skipped: true, Reason: "invoice_closed"}},
			domain.BundleSkipped, "invoice_closed", answered, 0, false},
		{"gap", models.BundleAnswered, activities.ReasonCustomerGap, &activities.BundleAnswer{NotBefore: &later, Reason: activities.ReasonCustomerGap},
			domain.BundlePostponed, activities.ReasonCustomerGap, answered, 0, true},
		{"requeued", models.BundleAnswered, "", &activities.BundleAnswer{Requeue: true, Reason: activities.ReasonRequeued},
			domain.BundleRequeued, activities.ReasonRequeued, answered, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := models.BundleRequest{AdministrationID: 1, CustomerID: 2, Currency: "EUR", InvoiceID: 3, StepKey: "invoice:1:F/1",
				Position: 1, Kind: "reminder", State: c.state, Reason: c.reason, UpdatedAt: t0}
			if c.state == models.BundleSent || c.state == models.BundleAnswered {
				r.AnsweredAt = &answered
			}
			e := bundleEntry(r, c.answer, msgs, 3)
			require.Equal(t, domain.EntryBundle, e.Kind)
			require.NotNil(t, e.Bundle)
			require.Equal(t, c.want, e.Bundle.State)
			require.Equal(t, c.wantWhy, e.Bundle.Reason)
			require.Equal(t, "bundle:1:2:EUR", e.Bundle.WorkflowID)
			require.Equal(t, c.at, e.At)
			require.Len(t, e.Bundle.Messages, c.msgs)
			require.Equal(t, c.notBef, e.Bundle.NotBefore != nil)
			if c.want == domain.BundleSent && c.msgs > 0 {
				require.Equal(t, "3 invoices", e.Detail)
				require.Equal(t, 3, e.Bundle.Invoices)
				require.Equal(t, "email", e.Bundle.Messages[0].Channel)
				require.Equal(t, "sent", e.Bundle.Messages[0].State)
				require.Equal(t, domain.TimelineMessage{StepKind: "reminder", Channel: "sms", State: "failed", Reason: "no mobile"}, e.Bundle.Messages[1])
			}
		})
	}
}

// TestBundleAnswerDecodes: the stored answer is the JSON of an
// activities.BundleAnswer; an unreadable one is shown from the row alone.
func TestBundleAnswerDecodes(t *testing.T) {
	s := New(Options{})
	later := time.Date(2026, 11, 9, 9, 0, 0, 0, time.UTC)
	b, err := json.Marshal(activities.BundleAnswer{StepKey: "k", NotBefore: &later, Reason: activities.ReasonCustomerGap})
	require.NoError(t, err)
	a := s.bundleAnswer(models.BundleRequest{Outcomes: string(b)})
	require.NotNil(t, a)
	require.Equal(t, activities.ReasonCustomerGap, a.Reason)
	require.True(t, later.Equal(*a.NotBefore))
	require.Nil(t, s.bundleAnswer(models.BundleRequest{Outcomes: "{not json"}))
	require.Nil(t, s.bundleAnswer(models.BundleRequest{}))
}

// TestBundleWorkflows: a step the journey reports bundled names the bundle
// workflow of its request (the customer it was queued for, even if the
// invoice moved since), else of the invoice's customer; other steps none.
func TestBundleWorkflows(t *testing.T) {
	gdb := testkit.SQLite(t)
	inv := models.Invoice{ID: 5, AdministrationID: 1, CustomerID: 9, Currency: "EUR"}
	require.NoError(t, gdb.Create(&models.BundleRequest{AdministrationID: 1, CustomerID: 8, Currency: "EUR", InvoiceID: 5,
		WorkflowID: "invoice:5", StepKey: "invoice:5/1", Position: 1, Kind: "reminder", State: models.BundlePending}).Error)
	require.NoError(t, gdb.Create(&models.BundleRequest{AdministrationID: 1, CustomerID: 8, Currency: "EUR", InvoiceID: 5,
		WorkflowID: "invoice:5", StepKey: "invoice:5/0", Position: 0, Kind: "reminder", State: models.BundleSent}).Error)
	steps := []domain.JourneyStep{
		{Position: 0, Status: "sent"},
		{Position: 1, Status: domain.BundleWaiting},
		{Position: 2, Status: domain.BundleWaiting},
		{Position: 3, Status: "planned"},
	}
	require.NoError(t, bundleWorkflows(gdb, &inv, steps))
	require.Equal(t, []string{"", "bundle:1:8:EUR", "bundle:1:9:EUR", ""},
		[]string{steps[0].BundleWorkflowID, steps[1].BundleWorkflowID, steps[2].BundleWorkflowID, steps[3].BundleWorkflowID})
}
