package workflows

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/policy"
)

// a is the nil receiver through which workflows name activities as method
// values; the worker registers a real *activities.Activities.
var a *activities.Activities

// continueAsNewAfter bounds a journey's history well under Temporal's limits
// even when it is paused and resumed thousands of times; minHistoryLimit
// keeps a low JourneyInput.MaxHistoryEvents from continuing as new forever.
const (
	continueAsNewAfter = 5000
	minHistoryLimit    = 20
)

// planOptions and sendOptions are the activities' timeouts and retries. Sends
// retry with backoff for a day (a provider outage), then the step is recorded
// failed and the journey goes on; permanent errors are not retried.
var (
	planOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrTypePermanent},
		},
	}
	// planOptions2 is the plan of runs under ChangeJourney2: a short budget,
	// after which the journey itself waits and tries again, forever.
	planOptions2 = workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 5 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrTypePermanent, activities.ErrTypeInvoiceGone},
		},
	}
	// recordOptions write the journey's bookkeeping on the invoice row: they
	// retry until the database answers (no overall budget), since the row
	// must end up saying what the workflow says.
	recordOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Minute,
		},
	}
	sendOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: 24 * time.Hour,
		HeartbeatTimeout:       time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        5 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        10 * time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrTypePermanent},
		},
	}
)

// InvoiceJourney is the collection journey of one invoice: it sends each step
// of the journey when it falls due, on the channels chosen at that moment,
// and steers by signals (pause, resume, payments, disputes, journey changes).
func InvoiceJourney(ctx workflow.Context, in JourneyInput) (JourneyResult, error) {
	j, err := newJourney(ctx, in)
	if err != nil {
		return JourneyResult{}, err
	}
	return j.run(ctx)
}

type journey struct {
	in     JourneyInput
	st     JourneyState
	id     string
	logger log.Logger
	// pausedAttr and stageAttr are the search attributes as last upserted.
	pausedAttr bool
	stageAttr  Stage
	// historyLimit and keepPlanOnError are decided once per run by versions.
	historyLimit    int
	keepPlanOnError bool
	// sendAnchor: sends carry the anchor (ChangeRenderClock).
	sendAnchor bool
	// orderedUpdates: stale invoice-updated signals are ignored (ChangeOrderedUpdates).
	orderedUpdates bool
	// v2: the run is under ChangeJourney2.
	v2 bool
	// recording is set while a RecordSteering activity runs (one at a time:
	// the main loop and the Update handlers share it); ending once finish
	// has begun (steering is refused from then on).
	recording, ending bool
	// manualInLoop: manual actions are sent by the main loop
	// (ChangeManualInLoop); manualQ holds the accepted ones not yet handled
	// and manualDone their answers, by Update ID, until the handler reads them.
	manualInLoop bool
	manualQ      []manualAction
	manualDone   map[string]manualOutcome

	pause, resume, email, updated, dispute, resolved, changed, answers workflow.ReceiveChannel
	// wake is sent to by the Update handlers so that the main loop, asleep
	// until its next step, looks at the changed state.
	wake workflow.Channel
}

func newJourney(ctx workflow.Context, in JourneyInput) (*journey, error) {
	if in.AdministrationID <= 0 || in.CustomerID <= 0 || in.InvoiceID <= 0 || in.InvoiceNumber == "" {
		return nil, temporal.NewNonRetryableApplicationError("journey input needs administration, customer, invoice id and number", "InvalidInput", nil)
	}
	info := workflow.GetInfo(ctx)
	j := &journey{
		in: in,
		id: info.WorkflowExecution.ID,
		logger: log.With(workflow.GetLogger(ctx),
			"administration", in.AdministrationID, "customer", in.CustomerID, "invoice", in.InvoiceNumber),
	}
	if in.State != nil {
		j.st = *in.State
	} else {
		j.st = JourneyState{Stage: StageScheduled, Status: StatusOpen, OpenMinor: in.OpenMinor, Currency: in.Currency}
	}
	j.stageAttr = j.st.Stage
	j.pausedAttr = j.st.Paused || j.st.Disputed

	j.pause = workflow.GetSignalChannel(ctx, SignalPause)
	j.resume = workflow.GetSignalChannel(ctx, SignalResume)
	j.email = workflow.GetSignalChannel(ctx, SignalEmailSubmitted)
	j.updated = workflow.GetSignalChannel(ctx, SignalInvoiceUpdated)
	j.dispute = workflow.GetSignalChannel(ctx, SignalDispute)
	j.resolved = workflow.GetSignalChannel(ctx, SignalDisputeResolved)
	j.changed = workflow.GetSignalChannel(ctx, SignalJourneyChanged)
	j.answers = workflow.GetSignalChannel(ctx, SignalBundleAnswer)
	j.wake = workflow.NewBufferedChannel(ctx, 1)
	j.manualDone = map[string]manualOutcome{}

	if err := workflow.SetQueryHandler(ctx, QueryState, func() (JourneyState, error) {
		return j.snapshot(), nil
	}); err != nil {
		return nil, fmt.Errorf("register query %s: %w", QueryState, err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateSendNow, j.sendNowUpdate, workflow.UpdateHandlerOptions{
		Validator: j.validateSendNowUpdate,
	}); err != nil {
		return nil, fmt.Errorf("register update %s: %w", UpdateSendNow, err)
	}
	steering := []struct {
		name string
		reg  func() error
	}{
		{UpdatePause, func() error {
			return workflow.SetUpdateHandlerWithOptions(ctx, UpdatePause, j.pauseUpdate, workflow.UpdateHandlerOptions{Validator: j.validatePause})
		}},
		{UpdateResume, func() error {
			return workflow.SetUpdateHandlerWithOptions(ctx, UpdateResume, j.resumeUpdate, workflow.UpdateHandlerOptions{Validator: j.validateResume})
		}},
		{UpdateDispute, func() error {
			return workflow.SetUpdateHandlerWithOptions(ctx, UpdateDispute, j.disputeUpdate, workflow.UpdateHandlerOptions{Validator: j.validateDispute})
		}},
		{UpdateResolveDispute, func() error {
			return workflow.SetUpdateHandlerWithOptions(ctx, UpdateResolveDispute, j.resolveUpdate, workflow.UpdateHandlerOptions{Validator: j.validateResolve})
		}},
	}
	for _, u := range steering {
		if err := u.reg(); err != nil {
			return nil, fmt.Errorf("register update %s: %w", u.name, err)
		}
	}
	return j, nil
}

// versions reads the GetVersion gates of this run: a journey started by an
// older worker keeps its old behaviour on replay.
func (j *journey) versions(ctx workflow.Context) {
	j.historyLimit = continueAsNewAfter
	if workflow.GetVersion(ctx, ChangeJourney2, workflow.DefaultVersion, 1) >= 1 {
		j.v2 = true
		if j.in.MaxHistoryEvents > 0 {
			j.historyLimit = max(j.in.MaxHistoryEvents, minHistoryLimit)
		}
		j.keepPlanOnError, j.sendAnchor, j.orderedUpdates = true, true, true
		j.manualInLoop = workflow.GetVersion(ctx, ChangeManualInLoop, workflow.DefaultVersion, 1) >= 1
		return
	}
	if workflow.GetVersion(ctx, ChangeHistoryLimit, workflow.DefaultVersion, 1) >= 1 && j.in.MaxHistoryEvents > 0 {
		j.historyLimit = max(j.in.MaxHistoryEvents, minHistoryLimit)
	}
	j.keepPlanOnError = workflow.GetVersion(ctx, ChangeReplanKeepsPlan, workflow.DefaultVersion, 1) >= 1
	j.sendAnchor = workflow.GetVersion(ctx, ChangeRenderClock, workflow.DefaultVersion, 1) >= 1
	j.orderedUpdates = workflow.GetVersion(ctx, ChangeOrderedUpdates, workflow.DefaultVersion, 1) >= 1
}

// renderAnchor is the anchor sends carry (zero for runs before the change).
func (j *journey) renderAnchor() time.Time {
	if !j.sendAnchor {
		return time.Time{}
	}
	return j.st.Anchor
}

func (j *journey) run(ctx workflow.Context) (JourneyResult, error) {
	j.versions(ctx)
	if j.st.Anchor.IsZero() {
		j.st.Anchor = workflow.Now(ctx)
		if j.v2 {
			// The loop plans, and retries a failed plan until it works.
			j.st.ReplanPending = true
		} else if err := j.plan(ctx); err != nil {
			return JourneyResult{}, err
		}
	}
	for {
		j.drainSignals(ctx)
		if j.v2 {
			if err := j.recordSteering(ctx); err != nil {
				return JourneyResult{}, err
			}
		}
		if j.closed() {
			return j.finish(ctx)
		}
		if err := j.syncAttributes(ctx); err != nil {
			return JourneyResult{}, err
		}
		if len(j.manualQ) > 0 {
			// A manual action goes before anything else, paused or not:
			// the admin asked for it now.
			if err := j.sendManual(ctx); err != nil {
				return JourneyResult{}, err
			}
			if j.st.Stage == StageCollection {
				return j.finish(ctx)
			}
			continue
		}
		if info := workflow.GetInfo(ctx); info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > j.historyLimit {
			// Manual actions wait for this loop: it stops waiting for the
			// handlers to send them.
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) || len(j.manualQ) > 0 }); err != nil {
				return JourneyResult{}, err
			}
			j.drainSignals(ctx)
			if j.v2 && (j.closed() || j.st.SteerSeq > j.st.SteerRecorded || len(j.manualQ) > 0) {
				// Something arrived while the handlers finished: a payment
				// ends the journey here, a pause is recorded first.
				continue
			}
			st := j.st
			in := j.in
			in.State = &st
			return JourneyResult{}, workflow.NewContinueAsNewError(ctx, InvoiceJourney, in)
		}
		if j.st.ReplanPending {
			err := j.plan(ctx)
			var canceled *temporal.CanceledError
			switch {
			case err == nil:
				if j.v2 && j.st.PlanFailures > 0 {
					j.planRecovered(ctx)
				}
			case errors.As(err, &canceled):
				return JourneyResult{}, err
			case j.v2 && invoiceGone(err):
				return JourneyResult{}, err
			case j.v2:
				j.planFailed(ctx, err)
			case !j.keepPlanOnError:
				return JourneyResult{}, err
			default:
				// The journey goes on with the plan it had: a broken
				// journey definition must not end an invoice's collection.
				j.logger.Error("re-plan failed; keeping the current plan", "error", err)
				j.st.ReplanPending = false
			}
			continue
		}
		now := workflow.Now(ctx)
		if j.v2 && j.st.RetryPlanAt != nil {
			if !now.Before(*j.st.RetryPlanAt) {
				j.st.RetryPlanAt, j.st.ReplanPending = nil, true
				continue
			}
			if !j.st.HasPlan {
				j.setDetails(ctx)
				j.waitFor(ctx, j.st.RetryPlanAt.Sub(now))
				continue
			}
		}
		if j.awaitingBundle() {
			// The bundle answers each of its steps within its window
			// (addSignals applies the answer); paused or not, the answer
			// comes. A bundle that never answers (terminated by hand) is
			// asked again.
			left := j.bundleDeadline().Sub(now)
			if left <= 0 {
				j.askBundleAgain()
				continue
			}
			j.setDetails(ctx)
			j.waitFor(ctx, left)
			continue
		}
		if j.paused() {
			j.setDetails(ctx)
			if j.st.PausedUntil != nil && !j.st.Disputed {
				left := j.st.PausedUntil.Sub(now)
				if left <= 0 || j.waitFor(ctx, left) {
					j.promiseEnded(ctx)
					j.endPause("pause ended")
				}
				continue
			}
			j.waitFor(ctx, -1)
			continue
		}
		slot := j.nextSlot()
		if slot == nil {
			j.st.Stage = StageCompleted
			return j.finish(ctx)
		}
		at := j.dueAt(slot)
		j.st.Next = &j.st.Steps[slot[0]]
		if at.After(now) {
			j.setDetails(ctx)
			wait := at.Sub(now)
			if j.v2 && j.st.RetryPlanAt != nil {
				wait = min(wait, j.st.RetryPlanAt.Sub(now))
			}
			j.waitFor(ctx, wait)
			continue
		}
		slot = j.catchUp(ctx, now)
		if len(slot) == 0 {
			continue
		}
		if err := j.sendSlot(ctx, slot); err != nil {
			return JourneyResult{}, err
		}
		if j.st.Stage == StageCollection {
			return j.finish(ctx)
		}
	}
}

// plan loads the journey's steps and times, keeping the steps already
// handled: a journey change only moves the future.
func (j *journey) plan(ctx workflow.Context) error {
	opts := planOptions
	if j.v2 {
		opts = planOptions2
	}
	var res activities.PlanResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.PlanJourney, activities.PlanInput{
		AdministrationID: j.in.AdministrationID,
		CustomerID:       j.in.CustomerID,
		InvoiceID:        j.in.InvoiceID,
		Anchor:           j.st.Anchor,
	}).Get(ctx, &res)
	if err != nil {
		return fmt.Errorf("plan journey of invoice %s: %w", j.in.InvoiceNumber, err)
	}
	j.st.JourneyID = res.JourneyID
	j.st.JourneyName = res.JourneyName
	j.st.MinGap = res.MinGap
	j.st.ReplanPending = false
	j.st.HasPlan = true

	var handled []StepState
	for _, s := range j.st.Steps {
		if s.Status != StepPlanned {
			handled = append(handled, s)
		}
	}
	// A new step is already covered when it lies before a handled one, is
	// the same step, or is an invoice step while the invoice already went.
	done := func(p activities.PlannedStep) bool {
		for _, h := range handled {
			if p.OffsetDays < h.OffsetDays || (p.OffsetDays == h.OffsetDays && p.Kind == h.Kind) ||
				(p.Kind == policy.StepInvoice && h.Kind == policy.StepInvoice) {
				return true
			}
		}
		return false
	}
	steps := handled
	for _, p := range res.Steps {
		if done(p) {
			continue
		}
		steps = append(steps, StepState{
			Position: p.Position, OffsetDays: p.OffsetDays, Kind: p.Kind, Template: p.Template,
			At: p.At, Status: StepPlanned,
		})
	}
	sort.SliceStable(steps, func(x, y int) bool {
		if steps[x].OffsetDays != steps[y].OffsetDays {
			return steps[x].OffsetDays < steps[y].OffsetDays
		}
		return steps[x].Position < steps[y].Position
	})
	j.st.Steps = steps
	j.st.Next = nil
	if s := j.nextSlot(); s != nil {
		j.st.Next = &j.st.Steps[s[0]]
	}
	return nil
}

// invoiceGone: the plan failed because the invoice no longer exists.
func invoiceGone(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == activities.ErrTypeInvoiceGone
}

// planRetryAfter is the wait before the n-th retry of a failed plan: one
// minute, doubling, at most an hour.
func planRetryAfter(failures int) time.Duration {
	d := time.Minute
	for i := 1; i < failures && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// planFailed schedules the next try of a failed plan: planning never gives
// up (an admin may fix the journey, the database may come back). Each
// failure flags the invoice (attention reason, error log, the metric); a
// re-plan keeps the plan the journey had meanwhile.
func (j *journey) planFailed(ctx workflow.Context, err error) {
	j.st.ReplanPending = false
	j.st.PlanFailures++
	at := workflow.Now(ctx).Add(planRetryAfter(j.st.PlanFailures))
	j.st.RetryPlanAt = &at
	reason := activities.AttentionPlanFailed
	if j.st.HasPlan {
		reason = activities.AttentionReplanFailed
	}
	j.logger.Error("planning failed; it will be tried again", "failures", j.st.PlanFailures, "retry_at", at, "error", err)
	// Flagged at every failure (a minute apart at least, hourly at most):
	// a step sent meanwhile with the old plan clears the attention reason.
	j.st.PlanProblem = reason
	j.flag(ctx, activities.FlagInvoiceInput{Reason: reason, Error: err.Error(), Failures: j.st.PlanFailures})
}

// planRecovered clears the flag of a failing plan once a plan worked.
func (j *journey) planRecovered(ctx workflow.Context) {
	j.logger.Info("planning works again", "failures", j.st.PlanFailures)
	j.st.PlanFailures, j.st.RetryPlanAt = 0, nil
	j.flag(ctx, activities.FlagInvoiceInput{Clears: j.st.PlanProblem})
	j.st.PlanProblem = ""
}

// flag runs FlagInvoice; its failure is logged, not fatal: the journey
// itself is right, only the attention list misses it.
func (j *journey) flag(ctx workflow.Context, in activities.FlagInvoiceInput) {
	in.WorkflowID, in.AdministrationID, in.InvoiceID = j.id, j.in.AdministrationID, j.in.InvoiceID
	opts := recordOptions
	opts.ScheduleToCloseTimeout = 10 * time.Minute
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.FlagInvoice, in).Get(ctx, nil); err != nil {
		j.logger.Error("flag the invoice", "reason", in.Reason, "error", err)
	}
}

// slots groups the planned steps by offset, in order: a slot is sent
// together (e.g. the final reminder and its SMS).
func (j *journey) slots() [][]int {
	var out [][]int
	for i, s := range j.st.Steps {
		if s.Status != StepPlanned {
			continue
		}
		if n := len(out); n > 0 && j.st.Steps[out[n-1][0]].OffsetDays == s.OffsetDays {
			out[n-1] = append(out[n-1], i)
			continue
		}
		out = append(out, []int{i})
	}
	return out
}

// nextSlot is the first slot still to send, nil when none is left.
func (j *journey) nextSlot() []int {
	if all := j.slots(); len(all) > 0 {
		return all[0]
	}
	return nil
}

// dueAt is the slot's time, pushed back to keep the minimum gap after the
// last message about this invoice.
func (j *journey) dueAt(slot []int) time.Time {
	at := j.st.Steps[slot[0]].At
	if j.st.LastSentAt != nil {
		if earliest := j.st.LastSentAt.Add(j.st.MinGap); earliest.After(at) {
			at = earliest
		}
	}
	return at
}

// catchUp keeps only the latest due slot when several fell due while the
// journey could not send (late import, downtime, a pause): the earlier ones
// are recorded as skipped, so the customer gets one message, never a burst.
func (j *journey) catchUp(ctx workflow.Context, now time.Time) []int {
	var due [][]int
	for _, slot := range j.slots() {
		if !j.st.Steps[slot[0]].At.After(now) {
			due = append(due, slot)
		}
	}
	if len(due) <= 1 {
		return j.nextSlot()
	}
	reason := ReasonCaughtUp
	if !j.anyHandled() {
		reason = ReasonImportedLate
	}
	in := activities.RecordSkippedInput{
		WorkflowID: j.id, AdministrationID: j.in.AdministrationID, CustomerID: j.in.CustomerID,
		InvoiceID: j.in.InvoiceID, Reason: reason,
	}
	for _, slot := range due[:len(due)-1] {
		for _, k := range slot {
			s := &j.st.Steps[k]
			s.Status, s.Reason, s.HandledAt = StepSkipped, reason, &now
			in.Steps = append(in.Steps, stepRef(*s))
			in.Keys = append(in.Keys, j.stepKey(*s))
		}
	}
	var res activities.RecordSkippedResult
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, planOptions), a.RecordSkipped, in).Get(ctx, &res); err != nil {
		// The timeline misses the skipped rows; the journey itself is right.
		j.logger.Error("record skipped steps", "error", err)
	}
	return due[len(due)-1]
}

func (j *journey) anyHandled() bool {
	for _, s := range j.st.Steps {
		if s.Status != StepPlanned {
			return true
		}
	}
	return false
}

// sendSlot sends every step of the slot (in parallel: they are independent
// messages) and records the outcome.
func (j *journey) sendSlot(ctx workflow.Context, slot []int) error {
	_, err := j.sendSteps(ctx, slot, nil, true)
	return err
}

// sendSteps is sendSlot with the channels narrowed to channels (a manual
// send of a planned step; nil: as chosen), reporting each step's result.
// Only an automatic send (auto) may go out in the customer's bundle.
func (j *journey) sendSteps(ctx workflow.Context, slot []int, channels []policy.Channel, auto bool) ([]activities.SendResult, error) {
	futures := make([]workflow.Future, len(slot))
	for n, k := range slot {
		s := j.st.Steps[k]
		if f := j.handOver(ctx, s); f != nil {
			futures[n] = f
			continue
		}
		futures[n] = workflow.ExecuteActivity(sendContext(ctx, s.Kind), a.SendStep, activities.SendInput{
			WorkflowID: j.id, AdministrationID: j.in.AdministrationID, CustomerID: j.in.CustomerID,
			InvoiceID: j.in.InvoiceID, Step: stepRef(s), Key: j.stepKey(s),
			Stage: string(j.stageAfter(s.Kind)), Anchor: j.renderAnchor(), Channels: channels,
			Bundle: auto && channels == nil && j.bundles(ctx, s.Kind),
		})
	}
	now := workflow.Now(ctx)
	sent := false
	results := make([]activities.SendResult, len(slot))
	for n, k := range slot {
		s := &j.st.Steps[k]
		var res activities.SendResult
		err := futures[n].Get(ctx, &res)
		results[n] = res
		var canceled *temporal.CanceledError
		if errors.As(err, &canceled) {
			return nil, err
		}
		if j.settle(s, res, err, now) {
			sent = true
		}
	}
	j.afterSend(sent, now)
	return results, nil
}

// settle records the outcome of one step's send (or its bundle's answer)
// on the step and the journey; it reports whether something went out.
func (j *journey) settle(s *StepState, res activities.SendResult, err error, now time.Time) bool {
	s.HandledAt = &now
	switch {
	case err != nil:
		s.Status, s.Reason = StepFailed, ReasonSendFailed
		j.logger.Error("send step failed after retries", "kind", s.Kind, "error", err)
	case res.Bundled:
		// The customer's bundle answers later (SignalBundleAnswer).
		s.Status, s.Bundle = StepBundled, res.BundleWorkflowID
	case res.Skipped:
		s.Status, s.Reason = StepSkipped, res.Reason
	default:
		s.Status = StepSent
		if !res.Sent {
			s.Status, s.Reason = StepFailed, res.Reason
		}
	}
	for _, o := range res.Outcomes {
		s.Channels = append(s.Channels, string(o.Channel)+":"+o.State)
	}
	if res.InvoiceStatus != "" && res.InvoiceStatus != StatusOpen {
		j.st.Status, j.st.OpenMinor = res.InvoiceStatus, res.OpenMinor
	}
	sent := s.Status == StepSent
	if sent {
		j.st.Stage = j.stageAfter(s.Kind)
	}
	if s.Kind == policy.StepCollection && s.Status != StepFailed && s.Status != StepBundled {
		j.st.Stage = StageCollection
	}
	return sent
}

// afterSend moves the journey's clock of sends and its next step.
func (j *journey) afterSend(sent bool, now time.Time) {
	if sent {
		j.st.LastSentAt = &now
		j.st.SentCount++
	}
	j.st.Next = nil
	if s := j.nextSlot(); s != nil {
		j.st.Next = &j.st.Steps[s[0]]
	}
}

// stageAfter is the stage once a step of kind k went out: never backwards
// from ChangeManualInLoop on (a manual action may have moved it ahead).
func (j *journey) stageAfter(k policy.StepKind) Stage {
	if j.manualInLoop {
		return domain.StageForward(j.st.Stage, k)
	}
	return StageAfter(j.st.Stage, k)
}

// sendContext routes steps that may send an SMS to the rate-limited queue.
func sendContext(ctx workflow.Context, k policy.StepKind) workflow.Context {
	opts := sendOptions
	switch k {
	case policy.StepSMS, policy.StepCollection, policy.StepStatement:
		opts.TaskQueue = SMSTaskQueue
	}
	return workflow.WithActivityOptions(ctx, opts)
}

// stepKey is unique per step of this workflow and stable across retries,
// replays and journey changes that keep the step.
func (j *journey) stepKey(s StepState) string {
	return fmt.Sprintf("%s/%d/%s", j.keyPrefix(), s.OffsetDays, s.Kind)
}

// keyPrefix starts every outbox key of this journey: the workflow ID, and
// from the second cycle on the cycle (the first keeps the keys journeys
// always had, so runs started before cycles existed keep theirs).
func (j *journey) keyPrefix() string {
	if j.in.Cycle > 1 {
		return fmt.Sprintf("%s/c%d", j.id, j.in.Cycle)
	}
	return j.id
}

func stepRef(s StepState) activities.StepRef {
	return activities.StepRef{Position: s.Position, OffsetDays: s.OffsetDays, Kind: s.Kind, Template: s.Template}
}

// waitFor blocks until a signal arrives or d elapses (d < 0: no timer). It
// reports whether the timer fired.
func (j *journey) waitFor(ctx workflow.Context, d time.Duration) bool {
	fired := false
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	sel := workflow.NewSelector(ctx)
	if d >= 0 {
		sel.AddFuture(workflow.NewTimer(tctx, d), func(f workflow.Future) {
			if f.Get(tctx, nil) == nil {
				fired = true
			}
		})
	}
	j.addSignals(ctx, sel)
	sel.Select(ctx)
	return fired
}

// drainSignals applies every signal already received, without blocking.
func (j *journey) drainSignals(ctx workflow.Context) {
	for {
		sel := workflow.NewSelector(ctx)
		j.addSignals(ctx, sel)
		if !sel.HasPending() {
			return
		}
		sel.Select(ctx)
	}
}

func (j *journey) addSignals(ctx workflow.Context, sel workflow.Selector) {
	now := func() time.Time { return workflow.Now(ctx) }
	sel.AddReceive(j.pause, func(c workflow.ReceiveChannel, _ bool) {
		var s PauseSignal
		c.Receive(ctx, &s)
		if s.Until != nil && !s.Until.After(now()) {
			j.logger.Warn("pause until a past date ignored", "until", s.Until)
			return
		}
		j.setPause(now(), s.Until, s.Reason)
	})
	sel.AddReceive(j.resume, func(c workflow.ReceiveChannel, _ bool) {
		var s ResumeSignal
		c.Receive(ctx, &s)
		j.endPause(s.Reason)
	})
	sel.AddReceive(j.email, func(c workflow.ReceiveChannel, _ bool) {
		var s EmailSubmittedSignal
		c.Receive(ctx, &s)
		t := now()
		j.st.ProvidedEmail, j.st.EmailSubmittedAt = s.Email, &t
	})
	sel.AddReceive(j.updated, func(c workflow.ReceiveChannel, _ bool) {
		var s InvoiceUpdatedSignal
		c.Receive(ctx, &s)
		if j.orderedUpdates && s.Revision > 0 {
			if s.Revision <= j.st.Revision {
				j.logger.Info("stale invoice update ignored", "revision", s.Revision, "applied", j.st.Revision)
				return
			}
			j.st.Revision = s.Revision
		}
		j.st.OpenMinor = s.OpenMinor
		switch {
		case s.Status == StatusPaid || s.Status == StatusCredited:
			j.st.Status = s.Status
		case s.OpenMinor <= 0:
			j.st.Status = StatusPaid
		default:
			j.st.Status = StatusOpen
		}
	})
	sel.AddReceive(j.dispute, func(c workflow.ReceiveChannel, _ bool) {
		var s DisputeSignal
		c.Receive(ctx, &s)
		j.setDispute(true, s.Reason)
	})
	sel.AddReceive(j.resolved, func(c workflow.ReceiveChannel, _ bool) {
		var s DisputeResolvedSignal
		c.Receive(ctx, &s)
		j.setDispute(false, "")
	})
	sel.AddReceive(j.changed, func(c workflow.ReceiveChannel, _ bool) {
		var s JourneyChangedSignal
		c.Receive(ctx, &s)
		j.st.ReplanPending = true
	})
	sel.AddReceive(j.answers, func(c workflow.ReceiveChannel, _ bool) {
		var ans activities.BundleAnswer
		c.Receive(ctx, &ans)
		j.applyAnswer(now(), ans)
	})
	sel.AddReceive(j.wake, func(c workflow.ReceiveChannel, _ bool) {
		var woken bool
		c.Receive(ctx, &woken)
	})
}

// signalsPending reports whether a signal (or a wake-up) waits.
func (j *journey) signalsPending(ctx workflow.Context) bool {
	sel := workflow.NewSelector(ctx)
	j.addSignals(ctx, sel)
	return sel.HasPending()
}

func (j *journey) endPause(reason string) {
	j.logger.Info("journey resumed", "reason", reason)
	j.st.Paused, j.st.PausedAt, j.st.PausedUntil, j.st.PauseReason = false, nil, nil, ""
	j.st.PromisedUntil = nil
	j.st.SteerSeq++
}

func (j *journey) setPause(at time.Time, until *time.Time, reason string) {
	j.st.Paused, j.st.PausedAt, j.st.PausedUntil, j.st.PauseReason = true, &at, until, reason
	j.st.PromisedUntil = nil // a new pause replaces a promise
	j.st.SteerSeq++
}

func (j *journey) setDispute(disputed bool, reason string) {
	j.st.Disputed, j.st.DisputeReason = disputed, reason
	j.st.SteerSeq++
}

func (j *journey) paused() bool { return j.st.Paused || j.st.Disputed }

func (j *journey) closed() bool { return j.st.Status == StatusPaid || j.st.Status == StatusCredited }

// syncAttributes keeps RelanceStage and RelancePaused current for the UI and
// visibility queries; it upserts only on change, to keep the history short.
func (j *journey) syncAttributes(ctx workflow.Context) error {
	var updates []temporal.SearchAttributeUpdate
	if j.st.Stage != j.stageAttr {
		updates = append(updates, AttrStage.ValueSet(string(j.st.Stage)))
	}
	if p := j.paused(); p != j.pausedAttr {
		updates = append(updates, AttrPaused.ValueSet(p))
	}
	if len(updates) == 0 {
		return nil
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		return fmt.Errorf("upsert search attributes: %w", err)
	}
	j.stageAttr, j.pausedAttr = j.st.Stage, j.paused()
	return nil
}

func (j *journey) finish(ctx workflow.Context) (JourneyResult, error) {
	j.ending = true
	if j.v2 {
		// Drain and re-check until nothing waits: a payment that arrived
		// during the last send or while a handler finished decides the
		// outcome (paid, not collection).
		for {
			j.refuseQueued()
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) || len(j.manualQ) > 0 }); err != nil {
				return JourneyResult{}, err
			}
			if len(j.manualQ) > 0 {
				continue
			}
			if !j.signalsPending(ctx) {
				break
			}
			j.drainSignals(ctx)
		}
	}
	out := OutcomeCompleted
	switch {
	case j.st.Status == StatusPaid:
		j.st.Stage, out = StagePaid, OutcomePaid
	case j.st.Status == StatusCredited:
		j.st.Stage, out = StageCredited, OutcomeCredited
	case j.st.Stage == StageCollection:
		out = OutcomeCollection
	}
	j.st.Next = nil
	if err := j.syncAttributes(ctx); err != nil {
		return JourneyResult{}, err
	}
	if !j.v2 {
		if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
			return JourneyResult{}, err
		}
	}
	workflow.SetCurrentDetails(ctx, j.ledgerLine()+fmt.Sprintf("Ended: %s (stage %s, %d steps sent)", out, j.st.Stage, j.st.SentCount))
	j.logger.Info("journey ended", "outcome", out, "stage", j.st.Stage)
	return JourneyResult{Outcome: out, Stage: j.st.Stage, Sent: j.st.SentCount}, nil
}

// setDetails shows the next step in the UI's "current details".
func (j *journey) setDetails(ctx workflow.Context) {
	var d string
	switch {
	case j.v2 && !j.st.HasPlan && j.st.RetryPlanAt != nil:
		d = fmt.Sprintf("**Planning failed** %d times; next try at %s", j.st.PlanFailures, j.st.RetryPlanAt.UTC().Format(time.RFC3339))
	case j.awaitingBundle():
		d = fmt.Sprintf("Stage **%s**. Waiting for the customer's bundle %s", j.st.Stage, j.bundleOf())
	case j.st.Disputed:
		d = "**Disputed**: " + j.st.DisputeReason
	case j.st.Paused && j.st.PausedUntil != nil:
		d = fmt.Sprintf("**Paused** until %s: %s", j.st.PausedUntil.UTC().Format(time.RFC3339), j.st.PauseReason)
	case j.st.Paused:
		d = "**Paused**: " + j.st.PauseReason
	case j.st.Next != nil:
		d = fmt.Sprintf("Stage **%s**. Next: %s at %s (offset %+d days)", j.st.Stage, j.st.Next.Kind,
			j.dueAt(j.nextSlot()).UTC().Format(time.RFC3339), j.st.Next.OffsetDays)
	default:
		d = fmt.Sprintf("Stage **%s**", j.st.Stage)
	}
	workflow.SetCurrentDetails(ctx, j.ledgerLine()+d)
}

// ledgerLine is the invoice's ledger line as the first line of the current
// details: the static summary is the start's and a run continued as new
// has none, so every run shows it here.
func (j *journey) ledgerLine() string {
	if j.in.Summary == "" {
		return ""
	}
	return j.in.Summary + "\n\n"
}

// snapshot is the query answer: a copy, with the sent and planned steps
// listed apart, and Next dated after the minimum gap and the pause's end.
// It only reads the state, so it needs no version gate.
func (j *journey) snapshot() JourneyState {
	st := j.st
	st.Steps = append([]StepState(nil), j.st.Steps...)
	st.Sent, st.Planned = nil, nil
	for _, s := range st.Steps {
		switch s.Status {
		case StepSent:
			st.Sent = append(st.Sent, s)
		case StepPlanned:
			st.Planned = append(st.Planned, s)
		}
	}
	st.Next = nil
	if j.closed() || j.st.Stage == StageCollection || j.st.Stage == StageCompleted {
		st.Planned = nil
		return st
	}
	if slot := j.nextSlot(); slot != nil {
		n := st.Steps[slot[0]]
		n.At = j.dueAt(slot)
		if j.st.Paused && !j.st.Disputed && j.st.PausedUntil != nil && j.st.PausedUntil.After(n.At) {
			n.At = *j.st.PausedUntil
		}
		st.Next = &n
	}
	return st
}

func (j *journey) validateSendNow(_ workflow.Context, req SendNowRequest) error {
	if !req.Kind.Valid() {
		return fmt.Errorf("unknown step kind %q", req.Kind)
	}
	if j.closed() {
		return fmt.Errorf("invoice is %s: nothing to send", j.st.Status)
	}
	if j.ending {
		return fmt.Errorf("the journey has ended at stage %s: nothing to send", j.st.Stage)
	}
	return nil
}

// sendNow is the manual action: it sends at once, with the admin's text.
func (j *journey) sendNow(ctx workflow.Context, req SendNowRequest) (SendNowResult, error) {
	j.st.Manual++
	key := fmt.Sprintf("%s/manual/%d", j.keyPrefix(), j.st.Manual)
	var res activities.SendResult
	err := workflow.ExecuteActivity(sendContext(ctx, req.Kind), a.SendStep, activities.SendInput{
		WorkflowID: j.id, AdministrationID: j.in.AdministrationID, CustomerID: j.in.CustomerID,
		InvoiceID: j.in.InvoiceID, Step: activities.StepRef{Position: -1, Kind: req.Kind, Template: "default"},
		Key: key, Stage: string(StageAfter(j.st.Stage, req.Kind)), Manual: true,
		Subject: req.Subject, Body: req.Body, Anchor: j.renderAnchor(),
	}).Get(ctx, &res)
	if err != nil {
		return SendNowResult{}, fmt.Errorf("send %s now: %w", req.Kind, err)
	}
	out := SendNowResult{Skipped: res.Skipped, Reason: res.Reason}
	for _, o := range res.Outcomes {
		out.Outcomes = append(out.Outcomes, SendNowChannelOutcome{Channel: string(o.Channel), State: o.State, Reason: o.Reason, MessageID: o.MessageID})
	}
	if res.Sent {
		now := workflow.Now(ctx)
		j.st.LastSentAt = &now
		j.st.SentCount++
		j.st.Stage = StageAfter(j.st.Stage, req.Kind)
	}
	return out, nil
}

// handOver is the collection step from ChangeCollectionCase on: instead of
// a notice per invoice, the invoice joins its customer's open collection
// case, which sends one notice per case (CollectionCase). It returns nil
// for other steps and for journeys started before the change, and else a
// future that settles like SendStep's: skipped with ReasonHandedOver when
// the invoice joined its case, skipped as closed when it was paid by then.
func (j *journey) handOver(ctx workflow.Context, s StepState) workflow.Future {
	if s.Kind != policy.StepCollection || workflow.GetVersion(ctx, ChangeCollectionCase, workflow.DefaultVersion, 1) < 1 {
		return nil
	}
	f, settle := workflow.NewFuture(ctx)
	join := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, planOptions), a.JoinCase, activities.JoinCaseInput{
		WorkflowID: j.id, AdministrationID: j.in.AdministrationID, CustomerID: j.in.CustomerID, InvoiceID: j.in.InvoiceID,
	})
	workflow.Go(ctx, func(gctx workflow.Context) {
		var jr activities.JoinCaseResult
		if err := join.Get(gctx, &jr); err != nil {
			settle.Set(nil, err)
			return
		}
		// The journey itself sends nothing here: the step is recorded as
		// handed over (not sent), and the journey ends in collection.
		res := activities.SendResult{InvoiceStatus: jr.InvoiceStatus, OpenMinor: jr.OpenMinor, Skipped: true, Reason: jr.Reason}
		if !jr.Skipped {
			res.Reason = ReasonHandedOver
			res.Outcomes = []activities.ChannelOutcome{{Channel: "case", State: jr.CaseWorkflowID}}
		}
		settle.Set(res, nil)
	})
	return f
}
