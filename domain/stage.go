package domain

import (
	"slices"

	"github.com/relance/relance/policy"
)

// StageForward is the stage after a step of kind k went out, never behind
// current: a reminder sent by hand after the final reminder leaves the
// journey at final_reminder (docs/domain.md §1.4, manual actions).
func StageForward(current Stage, k policy.StepKind) Stage {
	next := StageAfter(current, k)
	if StageRank(next) < StageRank(current) {
		return current
	}
	return next
}

// StageRank orders the stages of a running journey (scheduled 0 … collection
// 4); the end stages (paid, credited, completed) rank after them all.
func StageRank(s Stage) int {
	return slices.Index(Stages, s)
}
