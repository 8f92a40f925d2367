package activities

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/schedule"
)

func TestCapLateEntry(t *testing.T) {
	ams, err := time.LoadLocation("Europe/Amsterdam")
	require.NoError(t, err)
	window := schedule.Window{Country: "NL", Location: ams, StartHour: 9, EndHour: 17}
	// The default journey: invoice at issue (-30), reminders at 7 and 14, the
	// final reminder and its SMS at 21, collection at 35.
	kinds := []policy.StepKind{policy.StepInvoice, policy.StepReminder, policy.StepReminder, policy.StepFinalReminder, policy.StepSMS, policy.StepCollection}
	offsets := []int{-30, 7, 14, 21, 21, 35}
	due := time.Date(2026, 3, 2, 0, 0, 0, 0, ams) // a Monday
	at := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, ams).UTC() }
	plan := func(anchor time.Time, day time.Duration) schedule.PlanInput {
		return schedule.PlanInput{DueDate: due, Offsets: offsets, Anchor: anchor, Day: day, Window: window}
	}
	real := func(anchor time.Time) schedule.PlanInput { return plan(anchor, 24*time.Hour) }
	// Imported on Monday 2026-05-04 10:00, 63 days overdue: every step is due.
	late := at(2026, 5, 4, 10)

	tests := []struct {
		name    string
		in      schedule.PlanInput
		rule    models.LateEntry
		maxStep policy.StepKind
		want    []time.Time // nil: the plan unchanged
	}{
		{name: "latest_due keeps the plan (collection is the entry)", in: real(late), rule: models.LateEntryLatestDue, maxStep: policy.StepReminder},
		{name: "capped at reminder: the second reminder now, the rest keep their spacing", in: real(late), rule: models.LateEntryCapped, maxStep: policy.StepReminder,
			want: []time.Time{at(2026, 2, 2, 9), at(2026, 3, 9, 9), at(2026, 5, 4, 9), at(2026, 5, 11, 9), at(2026, 5, 11, 9), at(2026, 5, 26, 9)}}, // 25 May is Whit Monday
		{name: "capped at final reminder: final reminder and its SMS now", in: real(late), rule: models.LateEntryCapped, maxStep: policy.StepFinalReminder,
			want: []time.Time{at(2026, 2, 2, 9), at(2026, 3, 9, 9), at(2026, 3, 16, 9), at(2026, 5, 4, 9), at(2026, 5, 4, 9), at(2026, 5, 18, 9)}},
		{name: "capped at collection: the same as latest_due", in: real(late), rule: models.LateEntryCapped, maxStep: policy.StepCollection},
		{name: "capped at invoice: the invoice now, the first reminder a week later", in: real(late), rule: models.LateEntryCapped, maxStep: policy.StepInvoice,
			want: []time.Time{at(2026, 5, 4, 9), at(2026, 6, 10, 9), at(2026, 6, 17, 9), at(2026, 6, 24, 9), at(2026, 6, 24, 9), at(2026, 7, 8, 9)}},
		{name: "on time: nothing is due beyond the cap", in: real(at(2026, 3, 5, 10)), rule: models.LateEntryCapped, maxStep: policy.StepReminder},
		{name: "not late at all", in: real(at(2026, 1, 20, 10)), rule: models.LateEntryCapped, maxStep: policy.StepReminder},
		{name: "unknown max step: unchanged", in: real(late), rule: models.LateEntryCapped, maxStep: "fax"},
		{name: "scaled day: the entry at the anchor, the next steps days of 10s later", in: plan(late, 10*time.Second), rule: models.LateEntryCapped, maxStep: policy.StepReminder,
			want: []time.Time{late.Add(-93 * 10 * time.Second), late.Add(-56 * 10 * time.Second), late, late.Add(70 * time.Second), late.Add(70 * time.Second), late.Add(210 * time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			times := schedule.Plan(tt.in)
			before := append([]time.Time(nil), times...)
			got := capLateEntry(lateEntry{Kinds: kinds, Offsets: offsets, Times: times, Plan: tt.in, Rule: tt.rule, MaxStep: tt.maxStep})
			require.Equal(t, before, times, "the input is not changed")
			want := tt.want
			if want == nil {
				want = before
			}
			require.Len(t, got, len(want))
			for i := range want {
				require.True(t, want[i].Equal(got[i]), "step %d (%s): want %s, got %s", i, kinds[i], want[i], got[i])
			}
		})
	}
}

func TestLateEntryRank(t *testing.T) {
	for k, want := range map[policy.StepKind]int{policy.StepInvoice: 0, policy.StepReminder: 1, policy.StepSMS: 2, policy.StepFinalReminder: 2, policy.StepCollection: 3, policy.StepStatement: -1, "fax": -1} {
		require.Equal(t, want, policy.LateEntryRank(k), k)
	}
	for k, want := range map[policy.StepKind]bool{policy.StepInvoice: true, policy.StepReminder: true, policy.StepFinalReminder: true, policy.StepCollection: true, policy.StepSMS: false, policy.StepStatement: false, "": false} {
		require.Equal(t, want, policy.LateEntryStep(k), k)
	}
}
