package workflows

import (
	"errors"
	"fmt"
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/policy"
)

// Manual actions (the send-now Update) from ChangeManualInLoop on
// (docs/domain.md §1.4): the validator refuses what the journey would not
// send; the handler queues the action and wakes the main loop, which sends
// it before anything else, moves the stage forward only, and ends the
// journey on a manual hand-over, as the automatic path does. The outbox key
// is the Update's ID: the API passes the client's idempotency key as the
// Update ID, so a retried request neither runs twice (Temporal answers a
// known Update ID with its first outcome) nor, after a continue-as-new,
// sends twice (the outbox row of that key is already sent).

// manualAction is an accepted send-now waiting for the main loop.
type manualAction struct {
	id  string
	req SendNowRequest
}

// manualOutcome is the loop's answer to one manual action.
type manualOutcome struct {
	res SendNowResult
	err error
}

// validateSendNowUpdate picks the validator of the run's version.
func (j *journey) validateSendNowUpdate(ctx workflow.Context, req SendNowRequest) error {
	if !j.manualInLoop {
		return j.validateSendNow(ctx, req)
	}
	return j.manualRefusal(req)
}

// sendNowUpdate picks the handler of the run's version.
func (j *journey) sendNowUpdate(ctx workflow.Context, req SendNowRequest) (SendNowResult, error) {
	if !j.manualInLoop {
		return j.sendNow(ctx, req)
	}
	id := workflow.GetCurrentUpdateInfo(ctx).ID
	j.manualQ = append(j.manualQ, manualAction{id: id, req: req})
	j.wake.SendAsync(true)
	if err := workflow.Await(ctx, func() bool { _, ok := j.manualDone[id]; return ok }); err != nil {
		return SendNowResult{}, err
	}
	out := j.manualDone[id]
	delete(j.manualDone, id)
	return out.res, out.err
}

// manualRefusal says why the journey would not send the action now (nil:
// it would). The validator asks before the Update is accepted, the loop
// again when it comes to send it (the state may have moved meanwhile).
func (j *journey) manualRefusal(req SendNowRequest) error {
	if !req.Kind.Valid() {
		return refused("unknown step kind %q", req.Kind)
	}
	switch {
	case j.closed():
		return refused("invoice is %s: nothing to send", j.st.Status)
	case j.ending || j.st.Stage == StageCollection || j.st.Stage == StageCompleted:
		return refused("the journey has ended at stage %s: nothing to send", j.st.Stage)
	case j.st.Disputed:
		return refused("the invoice is disputed: resolve the dispute first")
	case !j.st.HasPlan:
		return refused("the journey has no plan yet: try again shortly")
	}
	if req.Position != nil {
		k := j.plannedIndex(*req.Position)
		if k < 0 {
			return refused("step %d is not a planned step of the journey", *req.Position)
		}
		if s := j.st.Steps[k]; s.Kind != req.Kind {
			return refused("step %d is a %s step, not %s", *req.Position, s.Kind, req.Kind)
		}
		if req.Subject != "" || req.Body != "" {
			return refused("the text of an automatic step cannot be edited")
		}
		return nil
	}
	if !slices.ContainsFunc(j.st.Steps, func(s StepState) bool { return s.Kind == req.Kind }) {
		return refused("the journey %q has no %s step", j.st.JourneyName, req.Kind)
	}
	return nil
}

// plannedIndex is the index of the planned step at position, -1 if none.
func (j *journey) plannedIndex(position int) int {
	return slices.IndexFunc(j.st.Steps, func(s StepState) bool { return s.Position == position && s.Status == StepPlanned })
}

// refuseQueued answers the manual actions still queued once the journey
// ends: the loop will send nothing more.
func (j *journey) refuseQueued() {
	for _, m := range j.manualQ {
		j.manualDone[m.id] = manualOutcome{err: refused("the journey has ended at stage %s: nothing was sent", j.st.Stage)}
	}
	j.manualQ = nil
}

// sendManual sends the first queued manual action and answers its handler.
// It returns an error only when the workflow itself is cancelled.
func (j *journey) sendManual(ctx workflow.Context) error {
	m := j.manualQ[0]
	j.manualQ = j.manualQ[1:]
	if err := j.manualRefusal(m.req); err != nil {
		j.manualDone[m.id] = manualOutcome{err: err}
		return nil
	}
	before := j.st.Stage
	var res activities.SendResult
	var err error
	if m.req.Position != nil {
		var results []activities.SendResult
		k := j.plannedIndex(*m.req.Position)
		results, err = j.sendSteps(ctx, []int{k}, m.req.Channels, false)
		if err != nil {
			return err
		}
		res = results[0]
		if j.st.Steps[k].Status == StepFailed && len(res.Outcomes) == 0 {
			// The send failed after its retries (the step is recorded failed).
			err = fmt.Errorf("step %d failed after its retries", *m.req.Position)
		}
	} else {
		res, err = j.sendAction(ctx, m)
		var canceled *temporal.CanceledError
		if errors.As(err, &canceled) {
			return err
		}
	}
	if err != nil {
		j.logger.Error("manual action failed after retries", "kind", m.req.Kind, "update_id", m.id, "error", err)
		j.manualDone[m.id] = manualOutcome{err: fmt.Errorf("send %s now: %w", m.req.Kind, err)}
		return nil
	}
	if j.st.Stage != before {
		j.supersede(ctx)
	}
	out := SendNowResult{Skipped: res.Skipped, Reason: res.Reason, Stage: j.st.Stage, Sent: res.Sent}
	for _, o := range res.Outcomes {
		out.Outcomes = append(out.Outcomes, SendNowChannelOutcome{Channel: string(o.Channel), State: o.State, Reason: o.Reason, MessageID: o.MessageID})
	}
	j.manualDone[m.id] = manualOutcome{res: out}
	j.logger.Info("manual action handled", "kind", m.req.Kind, "update_id", m.id, "stage", j.st.Stage, "sent", res.Sent)
	return nil
}

// sendAction sends a manual action that is no planned step: a message with
// the admin's text, or the hand-over to the customer's collection case.
func (j *journey) sendAction(ctx workflow.Context, m manualAction) (activities.SendResult, error) {
	s := StepState{Position: -1, Kind: m.req.Kind, Template: "default"}
	f := j.handOver(ctx, s)
	if f == nil {
		f = workflow.ExecuteActivity(sendContext(ctx, s.Kind), a.SendStep, activities.SendInput{
			WorkflowID: j.id, AdministrationID: j.in.AdministrationID, CustomerID: j.in.CustomerID,
			InvoiceID: j.in.InvoiceID, Step: stepRef(s), Key: fmt.Sprintf("%s/manual/%s", j.keyPrefix(), m.id),
			Stage: string(j.stageAfter(s.Kind)), Manual: true, Channels: m.req.Channels,
			Subject: m.req.Subject, Body: m.req.Body, Anchor: j.renderAnchor(),
		})
	}
	var res activities.SendResult
	if err := f.Get(ctx, &res); err != nil {
		return res, err
	}
	if res.InvoiceStatus != "" && res.InvoiceStatus != StatusOpen {
		j.st.Status, j.st.OpenMinor = res.InvoiceStatus, res.OpenMinor
	}
	now := workflow.Now(ctx)
	switch {
	case s.Kind == policy.StepCollection && res.Reason == ReasonHandedOver:
		j.st.Stage = StageCollection
	case res.Sent:
		j.st.LastSentAt = &now
		j.st.SentCount++
		j.st.Stage = j.stageAfter(s.Kind)
	}
	return res, nil
}

// supersede skips the planned steps a manual action moved the stage past (a
// reminder planned after a manual final reminder): the stage never moves
// back, and the customer never gets an earlier stage's message after a
// later one. The skips are recorded for the timeline.
func (j *journey) supersede(ctx workflow.Context) {
	now := workflow.Now(ctx)
	in := activities.RecordSkippedInput{
		WorkflowID: j.id, AdministrationID: j.in.AdministrationID, CustomerID: j.in.CustomerID,
		InvoiceID: j.in.InvoiceID, Reason: ReasonSuperseded,
	}
	for k := range j.st.Steps {
		s := &j.st.Steps[k]
		if s.Status != StepPlanned || domain.StageRank(StageAfter(j.st.Stage, s.Kind)) >= domain.StageRank(j.st.Stage) {
			continue
		}
		s.Status, s.Reason, s.HandledAt = StepSkipped, ReasonSuperseded, &now
		in.Steps = append(in.Steps, stepRef(*s))
		in.Keys = append(in.Keys, j.stepKey(*s))
	}
	j.st.Next = nil
	if slot := j.nextSlot(); slot != nil {
		j.st.Next = &j.st.Steps[slot[0]]
	}
	if len(in.Steps) == 0 {
		return
	}
	var res activities.RecordSkippedResult
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, planOptions), a.RecordSkipped, in).Get(ctx, &res); err != nil {
		// The timeline misses the skipped rows; the journey itself is right.
		j.logger.Error("record superseded steps", "error", err)
	}
}
