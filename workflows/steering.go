package workflows

import (
	"errors"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/relance/relance/activities"
)

// The steering Updates (pause, resume, dispute, resolution). Their
// validators refuse, before anything is written anywhere, a change the
// journey would ignore; their handlers change the journey and write the
// change on the invoice row (RecordSteering) before they answer, so the API
// answers with a row that says what the workflow says. A signal of the same
// meaning (sent from the Temporal UI or CLI) is recorded by the main loop.

// steerable refuses steering once the journey is over or ending.
func (j *journey) steerable() error {
	switch {
	case j.closed():
		return refused("invoice is %s: its journey has ended", j.st.Status)
	case j.ending || j.st.Stage == StageCollection || j.st.Stage == StageCompleted:
		return refused("the journey has ended at stage %s", j.st.Stage)
	}
	return nil
}

func (j *journey) validatePause(ctx workflow.Context, req PauseRequest) error {
	if err := j.steerable(); err != nil {
		return err
	}
	if strings.TrimSpace(req.Reason) == "" {
		return refused("a pause needs a reason")
	}
	if req.Until != nil && !req.Until.After(workflow.Now(ctx)) {
		return refused("pause until %s: the date is past", req.Until.UTC().Format("2006-01-02T15:04:05Z"))
	}
	if req.Promise && req.Until == nil {
		return refused("a promise to pay needs a date")
	}
	if req.Promise && j.st.Disputed {
		return refused("the invoice is disputed")
	}
	return nil
}

func (j *journey) pauseUpdate(ctx workflow.Context, req PauseRequest) (SteeringResult, error) {
	j.setPause(workflow.Now(ctx), req.Until, strings.TrimSpace(req.Reason))
	if req.Promise {
		j.st.PromisedUntil = req.Until
	}
	return j.steered(ctx)
}

// promiseEnded runs when a pause ends because its date passed: when the
// pause was a promise to pay and the invoice is still unpaid, the promise
// is broken; the invoice is flagged for the admins and the journey goes on
// at once (its next step is due, docs/domain.md §1.10).
func (j *journey) promiseEnded(ctx workflow.Context) {
	if j.st.PromisedUntil == nil || workflow.GetVersion(ctx, ChangePromiseToPay, workflow.DefaultVersion, 1) < 1 {
		return
	}
	// A payment that arrived with the timer ends the journey, not a promise.
	j.drainSignals(ctx)
	if j.closed() || !j.st.Paused || j.st.PromisedUntil == nil {
		return
	}
	now := workflow.Now(ctx)
	j.st.BrokenPromiseAt = &now
	j.logger.Info("promise to pay broken", "promised_until", j.st.PromisedUntil)
	j.flag(ctx, activities.FlagInvoiceInput{Reason: BrokenPromise})
}

// pausedNow: a pause whose date passed ends at the loop's next turn; it no
// longer counts.
func (j *journey) pausedNow(ctx workflow.Context) bool {
	return j.st.Paused && (j.st.PausedUntil == nil || j.st.PausedUntil.After(workflow.Now(ctx)))
}

func (j *journey) validateResume(ctx workflow.Context, _ ResumeRequest) error {
	if err := j.steerable(); err != nil {
		return err
	}
	if !j.pausedNow(ctx) {
		return refused("the journey is not paused")
	}
	return nil
}

func (j *journey) resumeUpdate(ctx workflow.Context, req ResumeRequest) (SteeringResult, error) {
	j.endPause(req.Reason)
	return j.steered(ctx)
}

func (j *journey) validateDispute(_ workflow.Context, req DisputeRequest) error {
	if err := j.steerable(); err != nil {
		return err
	}
	if j.st.Disputed {
		return refused("the invoice is already disputed")
	}
	if strings.TrimSpace(req.Reason) == "" {
		return refused("a dispute needs a reason")
	}
	return nil
}

func (j *journey) disputeUpdate(ctx workflow.Context, req DisputeRequest) (SteeringResult, error) {
	j.setDispute(true, strings.TrimSpace(req.Reason))
	return j.steered(ctx)
}

func (j *journey) validateResolve(_ workflow.Context, _ ResolveDisputeRequest) error {
	if !j.st.Disputed {
		return refused("the invoice is not disputed")
	}
	return nil
}

func (j *journey) resolveUpdate(ctx workflow.Context, _ ResolveDisputeRequest) (SteeringResult, error) {
	j.setDispute(false, "")
	return j.steered(ctx)
}

// steered wakes the main loop (asleep until its next step) and records the
// change on the invoice before the Update answers.
func (j *journey) steered(ctx workflow.Context) (SteeringResult, error) {
	j.wake.SendAsync(true)
	if err := j.recordSteering(ctx); err != nil {
		return SteeringResult{}, err
	}
	return SteeringResult{Paused: j.st.Paused, PausedUntil: j.st.PausedUntil, PauseReason: j.st.PauseReason,
		Disputed: j.st.Disputed, Stage: j.st.Stage}, nil
}

// recordSteering writes the pause and dispute on the invoice row while the
// row is behind (SteerSeq > SteerRecorded), one write at a time: the main
// loop and the handlers may both call it, and a write always carries the
// state as it is when it is scheduled, so the last one leaves it current.
func (j *journey) recordSteering(ctx workflow.Context) error {
	for j.st.SteerSeq > j.st.SteerRecorded {
		if j.recording {
			if err := workflow.Await(ctx, func() bool { return !j.recording }); err != nil {
				return err
			}
			continue
		}
		j.recording = true
		seq := j.st.SteerSeq
		in := activities.RecordSteeringInput{WorkflowID: j.id, AdministrationID: j.in.AdministrationID, InvoiceID: j.in.InvoiceID,
			Paused: j.st.Paused, PausedAt: j.st.PausedAt, PausedUntil: j.st.PausedUntil, PauseReason: j.st.PauseReason,
			Disputed: j.st.Disputed, DisputeReason: j.st.DisputeReason, PromisedUntil: j.st.PromisedUntil, BrokenPromiseAt: j.st.BrokenPromiseAt}
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, recordOptions), a.RecordSteering, in).Get(ctx, nil)
		j.recording = false
		var canceled *temporal.CanceledError
		if errors.As(err, &canceled) {
			return err
		}
		if err != nil {
			// Only a non-retryable failure gets here (the options retry
			// without end): the row stays behind, the journey goes on.
			j.logger.Error("record pause and dispute on the invoice", "error", err)
		}
		j.st.SteerRecorded = max(j.st.SteerRecorded, seq)
	}
	return nil
}
