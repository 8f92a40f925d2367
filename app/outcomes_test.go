package app_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/app"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/workflows"
)

// TestOverlayOutcomes: the journey's message outcomes read as the outbox
// rows are now, after receipts and bounces.
func TestOverlayOutcomes(t *testing.T) {
	const wf = "invoice:3:2026/INV-7" // an invoice number with a slash
	row := func(key string, state models.MessageState) models.Message {
		return models.Message{Key: key, State: state}
	}
	step := func(offset int, kind policy.StepKind, channels ...string) workflows.StepState {
		return workflows.StepState{OffsetDays: offset, Kind: kind, Status: workflows.StepSent, Channels: channels}
	}
	for _, tc := range []struct {
		name string
		step workflows.StepState
		rows []models.Message
		want []string
	}{
		{"a bounced email reads failed", step(0, policy.StepInvoice, "email:sent"),
			[]models.Message{row(wf+"/0/invoice/email", models.MessageFailed)}, []string{"email:failed"}},
		{"a receipt-confirmed SMS reads sent", step(14, policy.StepFinalReminder, "email:sent", "sms:uncertain", "post:skipped"),
			[]models.Message{row(wf+"/14/final_reminder/email", models.MessageSent), row(wf+"/14/final_reminder/sms", models.MessageSent),
				row(wf+"/14/final_reminder/post", models.MessageSkipped)},
			[]string{"email:sent", "sms:sent", "post:skipped"}},
		{"no row: as the workflow says", step(7, policy.StepReminder, "email:uncertain"), nil, []string{"email:uncertain"}},
		{"another step's row does not apply", step(7, policy.StepReminder, "email:sent"),
			[]models.Message{row(wf+"/14/reminder/email", models.MessageFailed), row(wf+"/7/final_reminder/email", models.MessageFailed)},
			[]string{"email:sent"}},
		{"the newest row of the step wins (a later cycle)", step(7, policy.StepReminder, "email:sent"),
			[]models.Message{row(wf+"/7/reminder/email", models.MessageFailed), row(wf+"#2/7/reminder/email", models.MessageSent)},
			[]string{"email:sent"}},
		{"an unreadable outcome is left alone", step(7, policy.StepReminder, "garbage"),
			[]models.Message{row(wf+"/7/reminder/email", models.MessageFailed)}, []string{"garbage"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sent := tc.step
			sent.Channels = append([]string(nil), tc.step.Channels...)
			st := workflows.JourneyState{Steps: []workflows.StepState{tc.step}, Sent: []workflows.StepState{sent}}
			app.OverlayOutcomes(&st, tc.rows)
			require.Equal(t, tc.want, st.Steps[0].Channels)
			require.Equal(t, tc.want, st.Sent[0].Channels, "the sent list too")
		})
	}
}
