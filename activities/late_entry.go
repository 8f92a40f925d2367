package activities

import (
	"time"

	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/schedule"
)

// lateEntry is what capLateEntry needs: the journey's steps as planned, the
// instant the journey started, and the administration's rule.
type lateEntry struct {
	Kinds   []policy.StepKind
	Offsets []int // as planned, ascending
	Times   []time.Time
	// Plan is the input the times were planned with (due date, day length,
	// window); Anchor in it is the journey's start.
	Plan    schedule.PlanInput
	Rule    models.LateEntry
	MaxStep policy.StepKind
}

// capLateEntry applies the late-entry rule of an administration to a planned
// journey and returns the times to use (a new slice; the input is not
// changed).
//
// The journey enters at the latest step due when it starts (the workflow
// records the earlier ones as skipped, imported_late). Under the capped rule
// that step may not rank beyond MaxStep (policy.LateEntryRank): the journey
// then enters at the latest due step that does not (or at its first step,
// when every step ranks beyond), that step is due at once, and the steps
// after it keep their spacing in days from it, so an invoice imported 60
// days overdue gets a reminder now and the final reminder as many days later
// as the journey puts between them, never a notice of default as its first
// message. Under latest_due, or when the latest due step does not rank
// beyond MaxStep, the times are returned as they are. Pure: the same input
// gives the same times, so replanning a running journey keeps them.
func capLateEntry(in lateEntry) []time.Time {
	out := append([]time.Time(nil), in.Times...)
	if in.Rule != models.LateEntryCapped || len(out) == 0 || len(in.Kinds) != len(out) || len(in.Offsets) != len(out) {
		return out
	}
	maxRank := policy.LateEntryRank(in.MaxStep)
	if maxRank < 0 {
		return out
	}
	// Steps at one offset go together (a final reminder and its SMS): the
	// entry is the first step of the latest due slot whose steps all rank
	// within the cap.
	latest, entry := -1, -1
	for start := 0; start < len(out) && !out[start].After(in.Plan.Anchor); {
		end, rank := start, -1
		for end < len(out) && in.Offsets[end] == in.Offsets[start] {
			rank = max(rank, policy.LateEntryRank(in.Kinds[end]))
			end++
		}
		latest = start
		if rank <= maxRank {
			entry = start
		}
		start = end
	}
	if latest < 0 || entry == latest {
		return out // not late, or the latest due slot is within the cap
	}
	if entry < 0 {
		entry = 0
	}
	// Plan the steps from the entry on as if the invoice fell due so that
	// the entry step is dated on the journey's start date.
	loc := in.Plan.Window.Location
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := in.Plan.Anchor.In(loc).Date()
	p := in.Plan
	p.DueDate = time.Date(y, m, d-in.Offsets[entry], 0, 0, 0, 0, loc)
	p.Offsets = in.Offsets[entry:]
	copy(out[entry:], schedule.Plan(p))
	return out
}
