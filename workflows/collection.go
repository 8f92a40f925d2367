package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/relance/relance/activities"
)

// CaseStage is how far a collection case has come; it is the RelanceStage
// search attribute of the case's workflow and the case's stage in the API.
type CaseStage string

// Case stages, in order; a case is open until its first notice goes out.
const (
	CaseStageOpen       CaseStage = "open"
	CaseStageNotice     CaseStage = "notice_of_default"
	CaseStageLastNotice CaseStage = "last_notice"
	CaseStageAgency     CaseStage = "agency"
	CaseStageClosed     CaseStage = "closed"
)

// caseStages are the stages that send, in order.
var caseStages = []CaseStage{CaseStageNotice, CaseStageLastNotice, CaseStageAgency}

// ReasonHandedOver is the journey's collection step when the invoice
// joined its customer's collection case: the case sends the notices.
const ReasonHandedOver = "handed_over_to_case"

// Case event kinds on the timeline.
const (
	CaseEventJoined   = "invoice_joined"
	CaseEventLeft     = "invoice_left"
	CaseEventPaused   = "paused"
	CaseEventResumed  = "resumed"
	CaseEventDisputed = "disputed"
	CaseEventResolved = "dispute_resolved"
	CaseEventWaived   = "costs_waived"
	CaseEventStage    = "stage"
	CaseEventHandOver = "handed_over"
	CaseEventClosed   = "closed"
)

// CaseInput starts a case's workflow; State is set only by continue-as-new.
type CaseInput struct {
	AdministrationID int64      `json:"administration_id"`
	CustomerID       int64      `json:"customer_id"`
	CustomerRef      string     `json:"customer_ref"`
	CaseID           int64      `json:"case_id"`
	Currency         string     `json:"currency"`
	State            *CaseState `json:"state,omitempty"`
}

// CaseResult is how a case ended.
type CaseResult struct {
	Stage CaseStage `json:"stage"`
	// Sent counts the stages that reached the customer.
	Sent int `json:"sent"`
}

// CaseInvoiceState is one invoice of a case as the workflow sees it.
type CaseInvoiceState struct {
	InvoiceID int64     `json:"invoice_id"`
	Number    string    `json:"number"`
	OpenMinor int64     `json:"open_minor"`
	Status    string    `json:"status"`
	JoinedAt  time.Time `json:"joined_at"`
	Revision  int64     `json:"revision,omitempty"`
}

// open reports whether the invoice is still to be collected.
func (i CaseInvoiceState) open() bool { return i.Status == StatusOpen && i.OpenMinor > 0 }

// CaseStageState is one stage as it went out.
type CaseStageState struct {
	Stage    CaseStage `json:"stage"`
	At       time.Time `json:"at"`
	Sent     bool      `json:"sent"`
	Reason   string    `json:"reason,omitempty"`
	Channels []string  `json:"channels,omitempty"`
	// The claim the stage's messages stated.
	InterestMinor int64 `json:"interest_minor"`
	CostsMinor    int64 `json:"costs_minor"`
	TotalMinor    int64 `json:"total_minor"`
}

// CaseState is the query `state` answer and the continue-as-new carry-over.
type CaseState struct {
	Stage    CaseStage          `json:"stage"`
	Currency string             `json:"currency"`
	OpenedAt time.Time          `json:"opened_at"`
	Gap      time.Duration      `json:"gap"`
	Invoices []CaseInvoiceState `json:"invoices"`
	Stages   []CaseStageState   `json:"stages"`
	// NextStage and NextAt are the stage to come and when (query answers).
	NextStage CaseStage  `json:"next_stage,omitempty"`
	NextAt    *time.Time `json:"next_at,omitempty"`

	Paused        bool       `json:"paused"`
	PausedUntil   *time.Time `json:"paused_until,omitempty"`
	PauseReason   string     `json:"pause_reason,omitempty"`
	Disputed      bool       `json:"disputed"`
	DisputeReason string     `json:"dispute_reason,omitempty"`

	WaivedMinor int64 `json:"waived_minor"`
	WaiveAll    bool  `json:"waive_all,omitempty"`
	// HandOverNow is set by the hand-over-now update until the agency stage went.
	HandOverNow bool `json:"hand_over_now,omitempty"`

	// Pending are timeline events and leavers not yet written.
	Pending     []activities.CaseEventRecord `json:"pending,omitempty"`
	PendingLeft []activities.CaseInvoiceLeft `json:"pending_left,omitempty"`
	// Dirty: the case row must be written again (pause, waiver, stage).
	Dirty    bool `json:"dirty,omitempty"`
	EventSeq int  `json:"event_seq"`
}

// CaseInvoiceJoinedSignal adds an invoice to the case.
type CaseInvoiceJoinedSignal struct {
	InvoiceID int64  `json:"invoice_id"`
	Number    string `json:"number"`
	OpenMinor int64  `json:"open_minor"`
}

// CaseInvoiceUpdatedSignal carries a payment or credit of a case's invoice.
type CaseInvoiceUpdatedSignal struct {
	InvoiceID int64  `json:"invoice_id"`
	OpenMinor int64  `json:"open_minor"`
	Status    string `json:"status"`
	Revision  int64  `json:"revision,omitempty"`
}

// WaiveCostsRequest waives AmountMinor of the case's costs and interest (the
// costs first), or all of them.
type WaiveCostsRequest struct {
	AmountMinor int64  `json:"amount_minor"`
	All         bool   `json:"all,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// WaiveCostsResult is the waiver now in force.
type WaiveCostsResult struct {
	WaivedMinor int64 `json:"waived_minor"`
	WaiveAll    bool  `json:"waive_all"`
}

// HandOverNowRequest sends the case to the agency without waiting.
type HandOverNowRequest struct {
	Reason string `json:"reason,omitempty"`
}

// HandOverNowResult is the stage the case will be in.
type HandOverNowResult struct {
	Stage CaseStage `json:"stage"`
}

// Errors of the case's updates, matched by the API (as application errors).
var (
	ErrCaseClosed      = errors.New("case is closed")
	ErrNegativeWaiver  = errors.New("waiver amount is negative")
	ErrAlreadyHandedOn = errors.New("case is already with the agency")
)

// caseEventOptions write timeline rows; stageOptions send a stage (with its
// SMS, so on the rate-limited queue).
var (
	caseStageOptions = func() workflow.ActivityOptions {
		o := sendOptions
		o.TaskQueue = SMSTaskQueue
		return o
	}()
	handOverOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 72 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        10 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        30 * time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrTypePermanent},
		},
	}
)

// CollectionCase is the collection procedure of one customer's overdue
// invoices in one currency (docs/domain.md §1.5): a notice of default, a last
// notice, then the hand-over to a collection agency, each ONE message per
// channel for the whole case. Invoices join by signal (signal-with-start
// from the journeys' hand-over) and leave when paid; the case closes when
// none is left. It pauses, waives costs and hands over on request.
func CollectionCase(ctx workflow.Context, in CaseInput) (CaseResult, error) {
	c, err := newCase(ctx, in)
	if err != nil {
		return CaseResult{}, err
	}
	return c.run(ctx)
}

type caseRun struct {
	in         CaseInput
	st         CaseState
	id         string
	logger     log.Logger
	stageAttr  CaseStage
	pausedAttr bool

	joined, updated, pause, resume, dispute, resolved workflow.ReceiveChannel
}

func newCase(ctx workflow.Context, in CaseInput) (*caseRun, error) {
	if in.AdministrationID <= 0 || in.CustomerID <= 0 || in.CaseID <= 0 {
		return nil, temporal.NewNonRetryableApplicationError("case input needs administration, customer and case", "InvalidInput", nil)
	}
	c := &caseRun{
		in: in,
		id: workflow.GetInfo(ctx).WorkflowExecution.ID,
		logger: log.With(workflow.GetLogger(ctx),
			"administration", in.AdministrationID, "customer", in.CustomerID, "case", in.CaseID),
	}
	if in.State != nil {
		c.st = *in.State
	} else {
		c.st = CaseState{Stage: CaseStageOpen, Currency: in.Currency}
	}
	// The start options set stage open and not paused (CaseStartOptions).
	c.stageAttr, c.pausedAttr = c.st.Stage, c.paused()
	c.joined = workflow.GetSignalChannel(ctx, SignalCaseInvoiceJoined)
	c.updated = workflow.GetSignalChannel(ctx, SignalCaseInvoiceUpdated)
	c.pause = workflow.GetSignalChannel(ctx, SignalPause)
	c.resume = workflow.GetSignalChannel(ctx, SignalResume)
	c.dispute = workflow.GetSignalChannel(ctx, SignalDispute)
	c.resolved = workflow.GetSignalChannel(ctx, SignalDisputeResolved)

	if err := workflow.SetQueryHandler(ctx, QueryState, func() (CaseState, error) { return c.snapshot(), nil }); err != nil {
		return nil, fmt.Errorf("register query %s: %w", QueryState, err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateWaiveCosts, c.waive, workflow.UpdateHandlerOptions{
		Validator: c.validateWaive,
	}); err != nil {
		return nil, fmt.Errorf("register update %s: %w", UpdateWaiveCosts, err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateHandOverNow, c.handOverNow, workflow.UpdateHandlerOptions{
		Validator: c.validateHandOver,
	}); err != nil {
		return nil, fmt.Errorf("register update %s: %w", UpdateHandOverNow, err)
	}
	return c, nil
}

func (c *caseRun) run(ctx workflow.Context) (CaseResult, error) {
	if c.st.OpenedAt.IsZero() {
		c.st.OpenedAt = workflow.Now(ctx)
		var plan activities.PlanCaseResult
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, planOptions), a.PlanCase, activities.PlanCaseInput{
			AdministrationID: c.in.AdministrationID, CaseID: c.in.CaseID,
		}).Get(ctx, &plan); err != nil {
			return CaseResult{}, fmt.Errorf("plan case %d: %w", c.in.CaseID, err)
		}
		c.st.Gap = plan.Gap
		c.st.Dirty = true
	}
	for {
		if err := ctx.Err(); err != nil {
			// Cancelled (an operator's cancel): end without sending more.
			return CaseResult{}, temporal.NewCanceledError(err.Error())
		}
		c.drainSignals(ctx)
		if err := c.flush(ctx); err != nil {
			return CaseResult{}, err
		}
		if c.allPaid() {
			done, err := c.close(ctx)
			if err != nil {
				return CaseResult{}, err
			}
			if done {
				return c.finish(ctx)
			}
			// An invoice joined in the database; its signal is on its way.
			c.waitFor(ctx, -1)
			continue
		}
		if err := c.syncAttributes(ctx); err != nil {
			return CaseResult{}, err
		}
		if info := workflow.GetInfo(ctx); info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > continueAsNewAfter {
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return CaseResult{}, err
			}
			c.drainSignals(ctx)
			if err := c.flush(ctx); err != nil {
				return CaseResult{}, err
			}
			st := c.st
			in := c.in
			in.State = &st
			return CaseResult{}, workflow.NewContinueAsNewError(ctx, CollectionCase, in)
		}
		now := workflow.Now(ctx)
		if c.paused() {
			c.setDetails(ctx, "", time.Time{})
			if c.st.PausedUntil != nil && !c.st.Disputed {
				left := c.st.PausedUntil.Sub(now)
				if left <= 0 || c.waitFor(ctx, left) {
					c.endPause(ctx, "pause ended")
				}
				continue
			}
			c.waitFor(ctx, -1)
			continue
		}
		stage, at := c.next()
		if stage == "" {
			// With the agency: the case waits for payments.
			c.setDetails(ctx, "", time.Time{})
			c.waitFor(ctx, -1)
			continue
		}
		if at.After(now) {
			c.setDetails(ctx, stage, at)
			c.waitFor(ctx, at.Sub(now))
			continue
		}
		if err := c.sendStage(ctx, stage); err != nil {
			return CaseResult{}, err
		}
	}
}

// next is the stage still to send and when: the notice at once, each later
// stage a gap after the one before; the agency at once when asked.
func (c *caseRun) next() (CaseStage, time.Time) {
	done := len(c.st.Stages)
	if c.handedOver() {
		return "", time.Time{}
	}
	if c.st.HandOverNow {
		return CaseStageAgency, time.Time{} // due at once
	}
	if done >= len(caseStages) {
		return "", time.Time{}
	}
	if done == 0 {
		return caseStages[0], c.st.OpenedAt
	}
	return caseStages[done], c.st.Stages[done-1].At.Add(c.st.Gap)
}

func (c *caseRun) handedOver() bool {
	for _, s := range c.st.Stages {
		if s.Stage == CaseStageAgency {
			return true
		}
	}
	return false
}

// sendStage sends one stage (one message per channel for the whole case)
// and, for the agency stage, hands the case over.
func (c *caseRun) sendStage(ctx workflow.Context, stage CaseStage) error {
	key := fmt.Sprintf("%s/%s", c.id, stage)
	var res activities.CaseStageResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, caseStageOptions), a.SendCaseStage, activities.CaseStageInput{
		WorkflowID: c.id, AdministrationID: c.in.AdministrationID, CustomerID: c.in.CustomerID, CaseID: c.in.CaseID,
		Stage: string(stage), Key: key, WaivedMinor: c.st.WaivedMinor, WaiveAll: c.st.WaiveAll, Anchor: c.st.OpenedAt,
	}).Get(ctx, &res)
	now := workflow.Now(ctx)
	rec := CaseStageState{Stage: stage, At: now}
	switch {
	case err != nil:
		var canceled *temporal.CanceledError
		if errors.As(err, &canceled) {
			return err
		}
		rec.Reason = ReasonSendFailed
		c.logger.Error("case stage failed after retries", "stage", stage, "error", err)
	case res.OpenInvoices == 0:
		// Everything was paid before the stage went (the database is ahead
		// of the payments' signals): no stage is recorded, and the invoices
		// the database has closed leave the case, which then closes.
		c.logger.Info("case stage not sent: nothing open", "stage", stage)
		c.leave(ctx, res.ClosedInvoices)
		return c.flush(ctx)
	case res.Skipped:
		rec.Reason = res.Reason
	default:
		rec.Sent = res.Sent
		if !res.Sent {
			rec.Reason = res.Reason
		}
	}
	rec.InterestMinor, rec.CostsMinor, rec.TotalMinor = res.InterestMinor, res.CostsMinor, res.TotalMinor
	for _, o := range res.Outcomes {
		rec.Channels = append(rec.Channels, string(o.Channel)+":"+o.State)
	}
	c.leave(ctx, res.ClosedInvoices)
	c.st.Stages = append(c.st.Stages, rec)
	c.st.Stage = stage
	c.event(ctx, CaseEventStage, fmt.Sprintf("%s: %s", stage, stageOutcome(rec)), res.TotalMinor)
	if stage == CaseStageAgency {
		c.st.HandOverNow = false
		var ho activities.HandOverResult
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, handOverOptions), a.HandOverCase, activities.HandOverInput{
			WorkflowID: c.id, AdministrationID: c.in.AdministrationID, CaseID: c.in.CaseID, Key: key + "/agency",
			WaivedMinor: c.st.WaivedMinor, WaiveAll: c.st.WaiveAll,
		}).Get(ctx, &ho); err != nil {
			var canceled *temporal.CanceledError
			if errors.As(err, &canceled) {
				return err
			}
			c.logger.Error("hand-over to the agency failed after retries", "error", err)
			c.event(ctx, CaseEventHandOver, "failed: "+err.Error(), 0)
		} else {
			c.event(ctx, CaseEventHandOver, "via "+ho.Via, 0)
		}
	}
	c.st.Dirty = true
	return c.flush(ctx)
}

// leave marks invoices the database found paid or credited as gone from
// the case, as their signal would.
func (c *caseRun) leave(ctx workflow.Context, ids []int64) {
	for _, id := range ids {
		for k := range c.st.Invoices {
			i := &c.st.Invoices[k]
			if i.InvoiceID == id && i.open() {
				i.Status, i.OpenMinor = StatusPaid, 0
				c.st.PendingLeft = append(c.st.PendingLeft, activities.CaseInvoiceLeft{InvoiceID: id, Reason: StatusPaid, At: workflow.Now(ctx)})
				c.event(ctx, CaseEventLeft, fmt.Sprintf("invoice %s %s", i.Number, i.Status), 0)
			}
		}
	}
}

func stageOutcome(s CaseStageState) string {
	if s.Sent {
		return "sent"
	}
	return "not sent (" + s.Reason + ")"
}

// event queues a timeline line; flush writes it.
func (c *caseRun) event(ctx workflow.Context, kind, detail string, amount int64) {
	c.st.EventSeq++
	c.st.Pending = append(c.st.Pending, activities.CaseEventRecord{
		Key: fmt.Sprintf("%s/%d", c.id, c.st.EventSeq), Kind: kind, Detail: detail, AmountMinor: amount, At: workflow.Now(ctx),
	})
	c.st.Dirty = true
}

// flush writes the queued timeline events and the case row.
func (c *caseRun) flush(ctx workflow.Context) error {
	if !c.st.Dirty && len(c.st.Pending) == 0 && len(c.st.PendingLeft) == 0 {
		return nil
	}
	in := activities.SyncCaseInput{
		CaseID: c.in.CaseID, Events: c.st.Pending, Left: c.st.PendingLeft, Stage: string(c.st.Stage),
		Paused: c.st.Paused, PausedUntil: c.st.PausedUntil, PauseReason: c.st.PauseReason,
		Disputed: c.st.Disputed, WaivedMinor: c.st.WaivedMinor, WaiveAll: c.st.WaiveAll,
	}
	var res activities.SyncCaseResult
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, planOptions), a.SyncCase, in).Get(ctx, &res); err != nil {
		var canceled *temporal.CanceledError
		if errors.As(err, &canceled) {
			return err
		}
		// The timeline misses lines; the case itself goes on.
		c.logger.Error("sync case row and timeline", "error", err)
	}
	c.st.Pending, c.st.PendingLeft, c.st.Dirty = nil, nil, false
	return nil
}

// allPaid: the case had invoices and none is open any more.
func (c *caseRun) allPaid() bool {
	if len(c.st.Invoices) == 0 {
		return false
	}
	for _, i := range c.st.Invoices {
		if i.open() {
			return false
		}
	}
	return true
}

func (c *caseRun) close(ctx workflow.Context) (bool, error) {
	var res activities.CloseCaseResult
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, planOptions), a.CloseCase, activities.CloseCaseInput{
		CaseID: c.in.CaseID,
	}).Get(ctx, &res); err != nil {
		return false, fmt.Errorf("close case %d: %w", c.in.CaseID, err)
	}
	return res.Closed, nil
}

func (c *caseRun) finish(ctx workflow.Context) (CaseResult, error) {
	c.st.Stage = CaseStageClosed
	c.event(ctx, CaseEventClosed, "every invoice of the case is paid", 0)
	if err := c.flush(ctx); err != nil {
		return CaseResult{}, err
	}
	if err := c.syncAttributes(ctx); err != nil {
		return CaseResult{}, err
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return CaseResult{}, err
	}
	sent := 0
	for _, s := range c.st.Stages {
		if s.Sent {
			sent++
		}
	}
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("Closed: all paid (%d stages sent)", sent))
	c.logger.Info("case closed", "stages_sent", sent)
	return CaseResult{Stage: CaseStageClosed, Sent: sent}, nil
}

// waitFor blocks until a signal arrives or d elapses (d < 0: no timer),
// and reports whether the timer fired. An update (waiver, hand-over now)
// also wakes it: updates change the state without a signal.
func (c *caseRun) waitFor(ctx workflow.Context, d time.Duration) bool {
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
	// An update queues a timeline event (Dirty): wake up to act on it.
	wake := workflow.NewChannel(ctx)
	workflow.Go(tctx, func(gctx workflow.Context) {
		if workflow.Await(gctx, func() bool { return c.st.Dirty }) == nil {
			wake.SendAsync(true)
		}
	})
	sel.AddReceive(wake, func(ch workflow.ReceiveChannel, _ bool) { ch.Receive(ctx, nil) })
	c.addSignals(ctx, sel)
	sel.Select(ctx)
	return fired
}

func (c *caseRun) drainSignals(ctx workflow.Context) {
	for {
		sel := workflow.NewSelector(ctx)
		c.addSignals(ctx, sel)
		if !sel.HasPending() {
			return
		}
		sel.Select(ctx)
	}
}

func (c *caseRun) addSignals(ctx workflow.Context, sel workflow.Selector) {
	now := func() time.Time { return workflow.Now(ctx) }
	sel.AddReceive(c.joined, func(ch workflow.ReceiveChannel, _ bool) {
		var s CaseInvoiceJoinedSignal
		ch.Receive(ctx, &s)
		for _, i := range c.st.Invoices {
			if i.InvoiceID == s.InvoiceID {
				return // a retried hand-over
			}
		}
		c.st.Invoices = append(c.st.Invoices, CaseInvoiceState{
			InvoiceID: s.InvoiceID, Number: s.Number, OpenMinor: s.OpenMinor, Status: StatusOpen, JoinedAt: now(),
		})
		c.event(ctx, CaseEventJoined, "invoice "+s.Number, s.OpenMinor)
	})
	sel.AddReceive(c.updated, func(ch workflow.ReceiveChannel, _ bool) {
		var s CaseInvoiceUpdatedSignal
		ch.Receive(ctx, &s)
		for k := range c.st.Invoices {
			i := &c.st.Invoices[k]
			if i.InvoiceID != s.InvoiceID {
				continue
			}
			if s.Revision > 0 && s.Revision <= i.Revision {
				return // stale
			}
			wasOpen := i.open()
			i.Revision, i.OpenMinor = s.Revision, s.OpenMinor
			switch {
			case s.Status == StatusPaid || s.Status == StatusCredited:
				i.Status = s.Status
			case s.OpenMinor <= 0:
				i.Status = StatusPaid
			default:
				i.Status = StatusOpen
			}
			if wasOpen && !i.open() {
				c.st.PendingLeft = append(c.st.PendingLeft, activities.CaseInvoiceLeft{InvoiceID: i.InvoiceID, Reason: i.Status, At: now()})
				c.event(ctx, CaseEventLeft, fmt.Sprintf("invoice %s %s", i.Number, i.Status), 0)
			}
			return
		}
	})
	sel.AddReceive(c.pause, func(ch workflow.ReceiveChannel, _ bool) {
		var s PauseSignal
		ch.Receive(ctx, &s)
		if s.Until != nil && !s.Until.After(now()) {
			c.logger.Warn("pause until a past date ignored", "until", s.Until)
			return
		}
		c.st.Paused, c.st.PausedUntil, c.st.PauseReason = true, s.Until, s.Reason
		detail := s.Reason
		if s.Until != nil {
			detail = fmt.Sprintf("until %s: %s", s.Until.UTC().Format(time.RFC3339), s.Reason)
		}
		c.event(ctx, CaseEventPaused, detail, 0)
	})
	sel.AddReceive(c.resume, func(ch workflow.ReceiveChannel, _ bool) {
		var s ResumeSignal
		ch.Receive(ctx, &s)
		c.endPause(ctx, s.Reason)
	})
	sel.AddReceive(c.dispute, func(ch workflow.ReceiveChannel, _ bool) {
		var s DisputeSignal
		ch.Receive(ctx, &s)
		c.st.Disputed, c.st.DisputeReason = true, s.Reason
		c.event(ctx, CaseEventDisputed, s.Reason, 0)
	})
	sel.AddReceive(c.resolved, func(ch workflow.ReceiveChannel, _ bool) {
		var s DisputeResolvedSignal
		ch.Receive(ctx, &s)
		c.st.Disputed, c.st.DisputeReason = false, ""
		c.event(ctx, CaseEventResolved, s.Reason, 0)
	})
}

func (c *caseRun) endPause(ctx workflow.Context, reason string) {
	if !c.st.Paused {
		return
	}
	c.st.Paused, c.st.PausedUntil, c.st.PauseReason = false, nil, ""
	c.event(ctx, CaseEventResumed, reason, 0)
}

func (c *caseRun) paused() bool { return c.st.Paused || c.st.Disputed }

func (c *caseRun) closed() bool { return c.st.Stage == CaseStageClosed }

func (c *caseRun) validateWaive(_ workflow.Context, req WaiveCostsRequest) error {
	if req.AmountMinor < 0 {
		return temporal.NewApplicationError(ErrNegativeWaiver.Error(), "NegativeWaiver")
	}
	if !req.All && req.AmountMinor == 0 {
		return temporal.NewApplicationError("nothing to waive: give an amount or all", "NegativeWaiver")
	}
	if c.closed() || c.allPaid() {
		return temporal.NewApplicationError(ErrCaseClosed.Error(), "CaseClosed")
	}
	return nil
}

// waive adds to the waiver; it shows on the timeline and in the next stage.
func (c *caseRun) waive(ctx workflow.Context, req WaiveCostsRequest) (WaiveCostsResult, error) {
	if req.All {
		c.st.WaiveAll = true
		c.event(ctx, CaseEventWaived, "all costs and interest: "+req.Reason, 0)
	} else {
		c.st.WaivedMinor += req.AmountMinor
		c.event(ctx, CaseEventWaived, req.Reason, req.AmountMinor)
	}
	return WaiveCostsResult{WaivedMinor: c.st.WaivedMinor, WaiveAll: c.st.WaiveAll}, nil
}

func (c *caseRun) validateHandOver(_ workflow.Context, _ HandOverNowRequest) error {
	if c.closed() || c.allPaid() {
		return temporal.NewApplicationError(ErrCaseClosed.Error(), "CaseClosed")
	}
	if c.handedOver() {
		return temporal.NewApplicationError(ErrAlreadyHandedOn.Error(), "AlreadyHandedOver")
	}
	return nil
}

// handOverNow asks the main loop to send the agency stage at once (also
// while paused: an admin's explicit action).
func (c *caseRun) handOverNow(ctx workflow.Context, req HandOverNowRequest) (HandOverNowResult, error) {
	c.st.HandOverNow = true
	c.st.Paused, c.st.PausedUntil, c.st.PauseReason = false, nil, ""
	c.event(ctx, CaseEventHandOver, "asked now: "+req.Reason, 0)
	return HandOverNowResult{Stage: CaseStageAgency}, nil
}

// syncAttributes keeps RelanceStage and RelancePaused current (on change only).
func (c *caseRun) syncAttributes(ctx workflow.Context) error {
	var updates []temporal.SearchAttributeUpdate
	if c.st.Stage != c.stageAttr {
		updates = append(updates, AttrStage.ValueSet(string(c.st.Stage)))
	}
	if p := c.paused(); p != c.pausedAttr {
		updates = append(updates, AttrPaused.ValueSet(p))
	}
	if len(updates) == 0 {
		return nil
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		return fmt.Errorf("upsert search attributes: %w", err)
	}
	c.stageAttr, c.pausedAttr = c.st.Stage, c.paused()
	return nil
}

func (c *caseRun) setDetails(ctx workflow.Context, next CaseStage, at time.Time) {
	open := 0
	for _, i := range c.st.Invoices {
		if i.open() {
			open++
		}
	}
	var d string
	switch {
	case c.st.Disputed:
		d = "**Disputed**: " + c.st.DisputeReason
	case c.st.Paused && c.st.PausedUntil != nil:
		d = fmt.Sprintf("**Paused** until %s: %s", c.st.PausedUntil.UTC().Format(time.RFC3339), c.st.PauseReason)
	case c.st.Paused:
		d = "**Paused**: " + c.st.PauseReason
	case next != "":
		d = fmt.Sprintf("Stage **%s**, %d open invoices. Next: %s at %s", c.st.Stage, open, next, at.UTC().Format(time.RFC3339))
	default:
		d = fmt.Sprintf("Stage **%s**, %d open invoices", c.st.Stage, open)
	}
	workflow.SetCurrentDetails(ctx, d)
}

// snapshot is the query answer: a copy with the next stage and its date.
func (c *caseRun) snapshot() CaseState {
	st := c.st
	st.Invoices = append([]CaseInvoiceState(nil), c.st.Invoices...)
	st.Stages = append([]CaseStageState(nil), c.st.Stages...)
	st.Pending, st.PendingLeft = nil, nil
	st.NextStage, st.NextAt = "", nil
	if c.closed() {
		return st
	}
	if stage, at := c.next(); stage != "" {
		st.NextStage = stage
		if !at.IsZero() {
			if c.st.Paused && !c.st.Disputed && c.st.PausedUntil != nil && c.st.PausedUntil.After(at) {
				at = *c.st.PausedUntil
			}
			st.NextAt = &at
		}
	}
	return st
}
