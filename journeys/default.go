// Package journeys holds the journey rules that are not the workflow's: the
// shipped default journey and the validation of a journey's steps.
package journeys

import (
	"errors"
	"fmt"

	"github.com/relance/relance/policy"
)

// Step is one step of a journey as an admin defines it.
type Step struct {
	OffsetDays int             `json:"offset_days"`
	Kind       policy.StepKind `json:"kind"`
	Template   string          `json:"template"`
}

// DefaultMinGapDays is the least number of days between two messages about one invoice.
const DefaultMinGapDays = 3

// DefaultTemplate names the shipped template set.
const DefaultTemplate = "default"

// OffsetAtIssue is the offset of a step meant to go when the invoice is
// issued, whatever its payment term: it is the lowest offset Validate
// accepts, and the plan moves every step dated before the issue date to it.
const OffsetAtIssue = -365

// Default is the journey an administration starts with, modelled on Payt's:
// the invoice when it is issued, two reminders after the due date, a final
// reminder with an SMS beside it (sent only where the administration and the
// customer allow SMS; otherwise recorded as skipped with the reason), then
// the hand-over to collection.
func Default() []Step {
	return []Step{
		{OffsetDays: OffsetAtIssue, Kind: policy.StepInvoice, Template: DefaultTemplate},
		{OffsetDays: 7, Kind: policy.StepReminder, Template: DefaultTemplate},
		{OffsetDays: 14, Kind: policy.StepReminder, Template: DefaultTemplate},
		{OffsetDays: 21, Kind: policy.StepFinalReminder, Template: DefaultTemplate},
		{OffsetDays: 21, Kind: policy.StepSMS, Template: DefaultTemplate},
		{OffsetDays: 35, Kind: policy.StepCollection, Template: DefaultTemplate},
	}
}

// maxOffset bounds a step at ten years after the due date.
const maxOffset = 3650

// ErrInvalid wraps every reason a journey is refused.
var ErrInvalid = errors.New("invalid journey")

// Validate checks a journey: at least one step, offsets in order, known
// kinds, templates that exist (known reports whether a template set exists),
// nothing after the hand-over to collection.
func Validate(steps []Step, minGapDays int, known func(name string) bool) error {
	if len(steps) == 0 {
		return fmt.Errorf("%w: steps: a journey needs at least one step", ErrInvalid)
	}
	if minGapDays < 0 || minGapDays > 365 {
		return fmt.Errorf("%w: min_gap_days: must be between 0 and 365", ErrInvalid)
	}
	for i, s := range steps {
		if !s.Kind.Valid() || s.Kind == policy.StepStatement {
			return fmt.Errorf("%w: steps[%d].kind: unknown step kind %q", ErrInvalid, i, s.Kind)
		}
		if s.OffsetDays < OffsetAtIssue || s.OffsetDays > maxOffset {
			return fmt.Errorf("%w: steps[%d].offset_days: %d is out of range (%d..%d)", ErrInvalid, i, s.OffsetDays, OffsetAtIssue, maxOffset)
		}
		if i > 0 && s.OffsetDays < steps[i-1].OffsetDays {
			return fmt.Errorf("%w: steps[%d].offset_days: offsets must not decrease (%d after %d)", ErrInvalid, i, s.OffsetDays, steps[i-1].OffsetDays)
		}
		if i > 0 && steps[i-1].Kind == policy.StepCollection {
			return fmt.Errorf("%w: steps[%d]: no step can follow the hand-over to collection", ErrInvalid, i)
		}
		name := s.Template
		if name == "" {
			name = DefaultTemplate
		}
		if known != nil && !known(name) {
			return fmt.Errorf("%w: steps[%d].template: unknown template %q", ErrInvalid, i, name)
		}
		for k := 0; k < i; k++ {
			if steps[k].OffsetDays == s.OffsetDays && steps[k].Kind == s.Kind {
				return fmt.Errorf("%w: steps[%d]: two %s steps on day %d", ErrInvalid, i, s.Kind, s.OffsetDays)
			}
		}
	}
	return nil
}
