package journeys

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/policy"
)

func TestDefaultIsPaytLike(t *testing.T) {
	steps := Default()
	require.NoError(t, Validate(steps, DefaultMinGapDays, func(name string) bool { return name == DefaultTemplate }))
	// The invoice goes first, at issue, whatever the payment term.
	require.Equal(t, policy.StepInvoice, steps[0].Kind)
	require.Equal(t, OffsetAtIssue, steps[0].OffsetDays)
	// Every reminder is after the due date; the SMS goes with the final reminder.
	var final, sms int
	for i, s := range steps[1:] {
		require.Greater(t, s.OffsetDays, 0, "step %d goes before the due date", i+1)
		switch s.Kind {
		case policy.StepFinalReminder:
			final = s.OffsetDays
		case policy.StepSMS:
			sms = s.OffsetDays
		}
	}
	require.NotZero(t, final)
	require.Equal(t, final, sms, "the SMS goes with the final reminder")
	require.Equal(t, policy.StepReminder, steps[1].Kind)
	// The hand-over to collection is last.
	require.Equal(t, policy.StepCollection, steps[len(steps)-1].Kind)
	// Default returns a fresh slice: a caller cannot change the default.
	steps[0].Kind = policy.StepSMS
	require.Equal(t, policy.StepInvoice, Default()[0].Kind)
}

func TestValidate(t *testing.T) {
	known := func(name string) bool { return name == DefaultTemplate || name == "firm" }
	step := func(off int, kind policy.StepKind, tpl string) Step {
		return Step{OffsetDays: off, Kind: kind, Template: tpl}
	}
	tests := []struct {
		name   string
		steps  []Step
		gap    int
		reason string // "" = valid
	}{
		{"the default", Default(), 3, ""},
		{"one step", []Step{step(0, policy.StepReminder, "")}, 3, ""},
		{"own template", []Step{step(0, policy.StepReminder, "firm")}, 0, ""},
		{"same day, different kinds", []Step{step(7, policy.StepFinalReminder, ""), step(7, policy.StepSMS, "")}, 3, ""},
		{"no steps", nil, 3, "steps: a journey needs at least one step"},
		{"offsets out of order", []Step{step(7, policy.StepReminder, ""), step(3, policy.StepReminder, "")}, 3,
			"steps[1].offset_days: offsets must not decrease (3 after 7)"},
		{"unknown template", []Step{step(7, policy.StepReminder, "fancy")}, 3, `steps[0].template: unknown template "fancy"`},
		{"unknown kind", []Step{step(7, "fax", "")}, 3, `steps[0].kind: unknown step kind "fax"`},
		{"statement is not a journey step", []Step{step(7, policy.StepStatement, "")}, 3, `steps[0].kind: unknown step kind "statement"`},
		{"offset too early", []Step{step(OffsetAtIssue-1, policy.StepInvoice, "")}, 3, "steps[0].offset_days: -366 is out of range (-365..3650)"},
		{"offset too late", []Step{step(3651, policy.StepReminder, "")}, 3, "steps[0].offset_days: 3651 is out of range (-365..3650)"},
		{"step after collection", []Step{step(7, policy.StepCollection, ""), step(9, policy.StepReminder, "")}, 3,
			"steps[1]: no step can follow the hand-over to collection"},
		{"the same step twice", []Step{step(7, policy.StepReminder, ""), step(7, policy.StepReminder, "")}, 3,
			"steps[1]: two reminder steps on day 7"},
		{"negative gap", []Step{step(7, policy.StepReminder, "")}, -1, "min_gap_days: must be between 0 and 365"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.steps, tc.gap, known)
			if tc.reason == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.True(t, errors.Is(err, ErrInvalid))
			require.Equal(t, "invalid journey: "+tc.reason, err.Error())
		})
	}
}
