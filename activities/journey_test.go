package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/metrics"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
)

// TestSendStepKeepsTheStageOfAClosedInvoice: a payment recorded while the
// step is being sent set the invoice paid; the send's stage must not
// overwrite it.
func TestSendStepKeepsTheStageOfAClosedInvoice(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		e := newSendEnv(t, gdb)
		c, inv := e.customer(nil)
		e.setReject(func(string) error {
			// The SMTP server has the recipient: the payment lands now.
			return gdb.Model(&models.Invoice{}).Where("id = ?", inv.ID).
				Updates(map[string]any{"status": models.InvoicePaid, "open_minor": 0, "stage": "paid"}).Error
		})
		defer e.setReject(nil)
		in := e.input(c, inv, policy.StepCollection)
		in.Stage = "collection"
		res, err := e.send(in)
		require.NoError(t, err)
		require.True(t, res.Sent)
		var got models.Invoice
		require.NoError(t, gdb.First(&got, inv.ID).Error)
		require.Equal(t, models.InvoicePaid, got.Status)
		require.Equal(t, "paid", got.Stage, "the send overwrote the stage of a paid invoice")
	})
}

func TestFlagInvoiceAndRecordSteering(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		e := newSendEnv(t, gdb)
		before := journeyProblems(t, activities.AttentionPlanFailed)
		_, inv := e.customer(nil)
		ctx := context.Background()
		flag := activities.FlagInvoiceInput{WorkflowID: inv.WorkflowID, AdministrationID: e.adm.ID, InvoiceID: inv.ID,
			Reason: activities.AttentionPlanFailed, Error: "database down", Failures: 1}
		res, err := e.acts.FlagInvoice(ctx, flag)
		require.NoError(t, err)
		require.True(t, res.Changed)
		require.Equal(t, before+1, journeyProblems(t, activities.AttentionPlanFailed), "the problem is counted for the metrics")
		reason := func() string {
			var got models.Invoice
			require.NoError(t, gdb.First(&got, inv.ID).Error)
			return got.AttentionReason
		}
		require.Equal(t, activities.AttentionPlanFailed, reason())

		// Clearing clears only its own reason.
		require.NoError(t, gdb.Model(&models.Invoice{}).Where("id = ?", inv.ID).Update("attention_reason", "no_channel").Error)
		clear := activities.FlagInvoiceInput{WorkflowID: inv.WorkflowID, AdministrationID: e.adm.ID, InvoiceID: inv.ID, Clears: activities.AttentionPlanFailed}
		res, err = e.acts.FlagInvoice(ctx, clear)
		require.NoError(t, err)
		require.False(t, res.Changed)
		require.Equal(t, "no_channel", reason())
		require.NoError(t, gdb.Model(&models.Invoice{}).Where("id = ?", inv.ID).Update("attention_reason", activities.AttentionPlanFailed).Error)
		_, err = e.acts.FlagInvoice(ctx, clear)
		require.NoError(t, err)
		require.Empty(t, reason())

		// Another administration's invoice is never touched.
		_, err = e.acts.FlagInvoice(ctx, activities.FlagInvoiceInput{AdministrationID: e.adm.ID + 1000, InvoiceID: inv.ID, Reason: "x"})
		require.NoError(t, err)
		require.Empty(t, reason())

		at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
		until := at.AddDate(0, 0, 7)
		st := activities.RecordSteeringInput{WorkflowID: inv.WorkflowID, AdministrationID: e.adm.ID, InvoiceID: inv.ID,
			Paused: true, PausedAt: &at, PausedUntil: &until, PauseReason: "promise to pay", Disputed: true}
		rec, err := e.acts.RecordSteering(ctx, st)
		require.NoError(t, err)
		require.True(t, rec.Changed)
		var got models.Invoice
		require.NoError(t, gdb.First(&got, inv.ID).Error)
		require.NotNil(t, got.PausedAt)
		require.True(t, at.Equal(*got.PausedAt))
		require.True(t, until.Equal(*got.PausedUntil))
		require.Equal(t, "promise to pay", got.PauseReason)
		require.True(t, got.Disputed)

		_, err = e.acts.RecordSteering(ctx, activities.RecordSteeringInput{WorkflowID: inv.WorkflowID, AdministrationID: e.adm.ID, InvoiceID: inv.ID})
		require.NoError(t, err)
		got = models.Invoice{}
		require.NoError(t, gdb.First(&got, inv.ID).Error)
		require.Nil(t, got.PausedAt)
		require.Nil(t, got.PausedUntil)
		require.Empty(t, got.PauseReason)
		require.False(t, got.Disputed)

		// The timeline's events are the transitions, each once: a retry
		// of the last write adds none.
		_, err = e.acts.RecordSteering(ctx, activities.RecordSteeringInput{WorkflowID: inv.WorkflowID, AdministrationID: e.adm.ID, InvoiceID: inv.ID})
		require.NoError(t, err)
		var events []models.InvoiceEvent
		require.NoError(t, gdb.Where("invoice_id = ?", inv.ID).Order("id").Find(&events).Error)
		var kinds []models.InvoiceEventKind
		for _, ev := range events {
			kinds = append(kinds, ev.Kind)
		}
		require.Equal(t, []models.InvoiceEventKind{models.EventPaused, models.EventDisputed, models.EventResumed, models.EventDisputeResolved}, kinds)
		require.True(t, at.Equal(events[0].At), "a pause is dated when it began")
		require.Contains(t, events[0].Detail, "promise to pay")
		require.Contains(t, events[0].Detail, until.Format(time.RFC3339))

		// Another journey's (or another administration's) row is not touched.
		_, err = e.acts.RecordSteering(ctx, activities.RecordSteeringInput{WorkflowID: "invoice:other", AdministrationID: e.adm.ID, InvoiceID: inv.ID, Paused: true, PausedAt: &at})
		require.NoError(t, err)
		var n int64
		require.NoError(t, gdb.Model(&models.InvoiceEvent{}).Where("invoice_id = ?", inv.ID).Count(&n).Error)
		require.EqualValues(t, 4, n)
	})
}

// journeyProblems reads the relance_journey_problems_total counter of reason.
func journeyProblems(t *testing.T, reason string) float64 {
	t.Helper()
	families, err := metrics.Registry().Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != metrics.NameJourneyFlags {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
