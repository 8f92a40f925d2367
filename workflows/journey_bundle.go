package workflows

import (
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/policy"
)

// bundleAnswerWait is how long a journey waits for its bundle's answer
// before it asks again. A bundle answers within its window; only a bundle
// whose workflow was terminated by hand, or whose send failed for a day,
// never does. Asking again is safe: the request is keyed by the step.
const bundleAnswerWait = 24 * time.Hour

// bundles reports whether an automatic step of kind k asks to go out in the
// customer's bundle: from ChangeBundling on, for the kinds a bundle carries.
// Whether the administration bundles is decided by the send, from the
// settings as they are then. The gate is read only by a run that reaches
// such a step, so a journey that never does keeps a shorter history.
func (j *journey) bundles(ctx workflow.Context, k policy.StepKind) bool {
	return j.v2 && activities.BundledKind(k) &&
		workflow.GetVersion(ctx, ChangeBundling, workflow.DefaultVersion, 1) >= 1
}

// awaitingBundle reports whether a step waits for its bundle's answer: the
// journey sends nothing else (but a manual action) until it has it.
func (j *journey) awaitingBundle() bool {
	for _, s := range j.st.Steps {
		if s.Status == StepBundled {
			return true
		}
	}
	return false
}

// bundleDeadline is when the journey stops waiting for its oldest bundled
// step's answer and asks again.
func (j *journey) bundleDeadline() time.Time {
	var first time.Time
	for _, s := range j.st.Steps {
		if s.Status == StepBundled && s.HandledAt != nil && (first.IsZero() || s.HandledAt.Before(first)) {
			first = *s.HandledAt
		}
	}
	return first.Add(bundleAnswerWait)
}

// askBundleAgain puts the bundled steps back to planned: they are due, so
// the loop sends them again at once, which queues them again.
func (j *journey) askBundleAgain() {
	for i := range j.st.Steps {
		s := &j.st.Steps[i]
		if s.Status == StepBundled {
			j.logger.Warn("no answer from the bundle; asking again", "kind", s.Kind, "bundle", s.Bundle)
			s.Status, s.Bundle, s.HandledAt = StepPlanned, "", nil
		}
	}
}

// applyAnswer takes a bundle's answer about one step: the send's result,
// a later time (the customer's minimum gap, a minimum amount not reached),
// or the step back as planned (the invoice was paused, disputed or moved
// to another customer while it waited). An answer about a step that is no
// longer waiting (answered already, or superseded) is ignored; a result
// that went out is taken even for a step planned again, since it did go.
func (j *journey) applyAnswer(now time.Time, ans activities.BundleAnswer) {
	k := slices.IndexFunc(j.st.Steps, func(s StepState) bool { return j.isStepKey(s, ans.StepKey) })
	if k < 0 {
		j.logger.Warn("bundle answer for an unknown step ignored", "step_key", ans.StepKey)
		return
	}
	s := &j.st.Steps[k]
	waiting := s.Status == StepBundled
	switch {
	case !waiting && !(s.Status == StepPlanned && ans.Result.Sent):
		j.logger.Info("bundle answer for a step not waiting ignored", "step_key", ans.StepKey, "status", s.Status)
		return
	case ans.Requeue:
		s.Status, s.Bundle, s.HandledAt = StepPlanned, "", nil
	case ans.NotBefore != nil:
		s.Status, s.Bundle, s.HandledAt = StepPlanned, "", nil
		s.At = ans.NotBefore.UTC()
	default:
		s.Bundle = ""
		j.afterSend(j.settle(s, ans.Result, nil, now), now)
		return
	}
	j.logger.Info("bundle answered: step planned again", "step_key", ans.StepKey, "reason", ans.Reason, "at", s.At)
	j.st.Next = nil
	if slot := j.nextSlot(); slot != nil {
		j.st.Next = &j.st.Steps[slot[0]]
	}
}

// isStepKey reports whether key is step s's key. A replayer runs the
// journey under a workflow ID of its own ("ReplayId"), so past the exact
// key the step's part after the workflow ID is matched, when what comes
// before it is one word (a workflow ID without a slash).
func (j *journey) isStepKey(s StepState, key string) bool {
	own := j.stepKey(s)
	if key == own {
		return true
	}
	rel := strings.TrimPrefix(own, j.id)
	head, ok := strings.CutSuffix(key, rel)
	return ok && rel != own && head != "" && !strings.Contains(head, "/")
}

// bundleOf names the bundle a step waits in, for the UI.
func (j *journey) bundleOf() string {
	for _, s := range j.st.Steps {
		if s.Status == StepBundled {
			return s.Bundle
		}
	}
	return ""
}
