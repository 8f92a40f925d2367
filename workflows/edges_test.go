package workflows

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/policy"
)

// TestJourneyPaymentDuringHandOverEndsPaid: the payment arrives while the
// collection notice is being sent (the last step). The journey must see it
// before it returns: the invoice is paid, not handed over.
func TestJourneyPaymentDuringHandOverEndsPaid(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps(), slowSend(time.Hour, func(in activities.SendInput) bool {
		return in.Step.Kind == policy.StepCollection
	}))
	f.signal(49*day+30*time.Minute, SignalInvoiceUpdated, InvoiceUpdatedSignal{OpenMinor: 0, Status: StatusPaid, Revision: 3})
	res := f.run()
	require.Equal(t, OutcomePaid, res.Outcome, "the payment that arrived during the hand-over send was lost")
	require.Equal(t, StagePaid, res.Stage)
	require.Equal(t, StatusPaid, f.state().Status)
	require.Equal(t, defaultSteps(), f.sent(), "the notice had gone when the payment came")
}

// TestJourneyPaymentWhileWaitingForHandlersEndsPaid: the last step went,
// the journey waits for a manual send (an Update) to finish, and a payment
// arrives meanwhile: it ends the journey as paid.
func TestJourneyPaymentWhileWaitingForHandlersEndsPaid(t *testing.T) {
	steps := []stepAt{{0, policy.StepInvoice}, {10, policy.StepReminder}}
	f := newJourneyFixture(t, steps, slowSend(6*time.Hour, func(in activities.SendInput) bool { return in.Manual }))
	f.at(10*day-time.Hour, func() {
		f.env.UpdateWorkflow(UpdateSendNow, "manual", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { require.Fail(t, "rejected", err.Error()) },
			OnComplete: func(any, error) {},
		}, SendNowRequest{Kind: policy.StepReminder, Body: "Please call us"})
	})
	f.signal(10*day+time.Hour, SignalInvoiceUpdated, InvoiceUpdatedSignal{OpenMinor: 0, Status: StatusPaid, Revision: 2})
	res := f.run()
	require.Equal(t, OutcomePaid, res.Outcome, "the payment that arrived while handlers finished was lost")
	require.Equal(t, StagePaid, res.Stage)
}

// TestJourneyPaymentBeforeContinueAsNewEndsPaid: a payment that arrives
// while the run waits for its handlers before continuing as new ends the
// journey there instead of starting a new run for a paid invoice.
func TestJourneyPaymentBeforeContinueAsNewEndsPaid(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps(), slowSend(6*time.Hour, func(in activities.SendInput) bool { return in.Manual }))
	f.at(20*day, func() { f.env.SetContinueAsNewSuggested(true) })
	f.at(21*day-time.Hour, func() {
		f.env.UpdateWorkflow(UpdateSendNow, "manual", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { require.Fail(t, "rejected", err.Error()) },
			OnComplete: func(any, error) {},
		}, SendNowRequest{Kind: policy.StepReminder, Body: "Please call us"})
	})
	// At day 21 the run wants to continue as new and waits for the manual send.
	f.signal(21*day+time.Hour, SignalInvoiceUpdated, InvoiceUpdatedSignal{OpenMinor: 0, Status: StatusPaid, Revision: 2})
	res := f.run()
	require.Equal(t, OutcomePaid, res.Outcome)
	require.Equal(t, 21*day+5*time.Hour, f.env.Now().Sub(start), "it ended when the manual send was done")
}

// TestJourneyFirstPlanFailureRetriesUntilItWorks: planning never gives up.
// The plan fails for two days; the invoice is flagged for attention, then
// the journey plans and runs, and the flag is cleared.
func TestJourneyFirstPlanFailureRetriesUntilItWorks(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.planErr = errPlanDown
	f.planFailFrom = 1
	f.at(2*day, func() {
		f.mu.Lock()
		f.planErr = nil
		f.mu.Unlock()
	})
	res := f.run()
	require.Equal(t, OutcomeCollection, res.Outcome)
	require.Greater(t, f.plans, 2, "the plan was retried")
	require.NotEmpty(t, f.flags, "the failing plan was made visible")
	require.Equal(t, activities.AttentionPlanFailed, f.flags[0].Reason)
	require.Contains(t, f.flags[0].Error, "database down")
	require.Empty(t, f.flags[len(f.flags)-1].Reason, "the flag is cleared once the plan worked")
	// The invoice step, due at day 0, went once the plan worked.
	require.Equal(t, policy.StepInvoice, f.sent()[0].kind)
}

// TestJourneyFirstPlanFailurePermanentKeepsRetrying: even a permanent
// failure (a journey definition that is gone) is retried: an admin can fix
// it, and a payment still ends the journey meanwhile.
func TestJourneyFirstPlanFailurePermanentKeepsRetrying(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.planErr = errPlanGone
	f.planFailFrom = 1
	f.signal(5*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{OpenMinor: 0, Status: StatusPaid, Revision: 2})
	res := f.run()
	require.Equal(t, OutcomePaid, res.Outcome)
	require.Empty(t, f.sends)
	require.GreaterOrEqual(t, f.plans, 3)
	require.Equal(t, activities.AttentionPlanFailed, f.flags[0].Reason)
}

var (
	errPlanDown = errors.New("database down")
	errPlanGone = temporal.NewNonRetryableApplicationError("journey 9 not found", activities.ErrTypePermanent, nil)
)

// TestJourneyReplanFailureIsRetried: a re-plan that fails keeps the plan,
// flags the invoice, and is tried again until it works.
func TestJourneyReplanFailureIsRetried(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.planErr = errPlanGone
	f.planFailFrom = 2
	f.at(22*day, func() {
		f.mu.Lock()
		f.steps = []stepAt{{0, policy.StepInvoice}, {21, policy.StepReminder}, {30, policy.StepFinalReminder}, {40, policy.StepCollection}}
		f.mu.Unlock()
		f.env.SignalWorkflow(SignalJourneyChanged, JourneyChangedSignal{JourneyID: 9})
	})
	f.at(23*day, func() {
		f.mu.Lock()
		f.planErr = nil
		f.mu.Unlock()
	})
	res := f.run()
	require.Equal(t, OutcomeCollection, res.Outcome)
	require.Equal(t, []stepAt{{0, policy.StepInvoice}, {21, policy.StepReminder}, {30, policy.StepFinalReminder}, {40, policy.StepCollection}}, f.sent())
	require.Equal(t, activities.AttentionReplanFailed, f.flags[0].Reason)
	require.Empty(t, f.flags[len(f.flags)-1].Reason)
}

// TestJourneyCycleInTheOutboxKey: a journey started again for a reopened
// invoice (cycle 2) sends under keys of its own, so the outbox does not
// take its steps for the first journey's.
func TestJourneyCycleInTheOutboxKey(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.input.Cycle = 2
	f.signal(22*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{Status: StatusPaid})
	require.Equal(t, OutcomePaid, f.run().Outcome)
	require.Equal(t, "invoice:1:INV-1/c2/-14/invoice", f.sends[0].key)
	g := newJourneyFixture(t, defaultSteps())
	g.input.Cycle = 1
	g.signal(2*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{Status: StatusPaid})
	require.Equal(t, OutcomePaid, g.run().Outcome)
	require.Equal(t, "invoice:1:INV-1/-14/invoice", g.sends[0].key, "the first cycle keeps the keys journeys always had")
}

// TestJourneyLedgerLineSurvivesContinueAsNew: the ledger line ops read in
// the UI is in the current details of every run, the continued ones too.
func TestJourneyLedgerLineSurvivesContinueAsNew(t *testing.T) {
	const line = "INV-1 · Customer · €100.00 open, due 2026-11-16"
	f := newJourneyFixture(t, defaultSteps())
	f.input.Summary = line
	f.at(2*day, func() { require.Contains(t, f.details(), line) })
	f.at(24*day, func() { f.env.SetContinueAsNewSuggested(true) })
	f.env.ExecuteWorkflow(InvoiceJourney, f.input)
	next := continuedInput(t, f.env)
	g := newJourneyFixture(t, defaultSteps())
	g.env.SetStartTime(start.Add(28 * day))
	g.input = next
	g.at(time.Hour, func() { require.Contains(t, g.details(), line, "lost by continue-as-new") })
	g.signal(2*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{Status: StatusPaid})
	require.Equal(t, OutcomePaid, g.run().Outcome)
}

func update(f *journeyFixture, name string, arg any, accepted bool, check func(SteeringResult)) func() {
	return func() {
		f.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {
				if !accepted {
					require.Fail(f.t, name+" must be refused")
				}
			},
			OnReject: func(err error) {
				if accepted {
					require.Fail(f.t, name+" refused", err.Error())
				}
				require.True(f.t, IsRefused(err), "a refusal says so by its type: %v", err)
			},
			OnComplete: func(v any, err error) {
				require.NoError(f.t, err)
				if check != nil {
					check(v.(SteeringResult))
				}
			},
		}, arg)
	}
}

// TestJourneyPauseAndDisputeUpdates: pause, resume and dispute are Updates
// whose validators refuse what the journey would ignore, before anything is
// written; the journey records each change on the invoice row.
func TestJourneyPauseAndDisputeUpdates(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	past := start.Add(day)
	until := start.Add(26 * day)
	f.at(20*day, update(f, UpdatePause, PauseRequest{Until: &past, Reason: "typo"}, false, nil))
	f.at(20*day, update(f, UpdatePause, PauseRequest{Reason: ""}, false, nil))
	f.at(20*day, update(f, UpdateResume, ResumeRequest{}, false, nil))
	f.at(20*day+time.Hour, update(f, UpdatePause, PauseRequest{Until: &until, Reason: "promise to pay"}, true, func(r SteeringResult) {
		require.True(f.t, r.Paused)
		require.True(f.t, until.Equal(*r.PausedUntil))
	}))
	f.at(21*day, update(f, UpdateDispute, DisputeRequest{Reason: "wrong price"}, true, func(r SteeringResult) { require.True(f.t, r.Disputed) }))
	f.at(21*day+time.Hour, update(f, UpdateDispute, DisputeRequest{Reason: "again"}, false, nil))
	f.at(22*day, update(f, UpdateResolveDispute, ResolveDisputeRequest{Reason: "agreed"}, true, func(r SteeringResult) {
		require.False(f.t, r.Disputed)
		require.True(f.t, r.Paused, "the pause still holds")
	}))
	f.at(23*day, update(f, UpdateResume, ResumeRequest{Reason: "called"}, true, func(r SteeringResult) { require.False(f.t, r.Paused) }))
	f.signal(30*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{Status: StatusPaid})
	f.at(31*day, update(f, UpdatePause, PauseRequest{Reason: "too late"}, false, nil))
	res := f.run()
	require.Equal(t, OutcomePaid, res.Outcome)
	// Every accepted change reached the invoice row, in order.
	var got []string
	for _, s := range f.steers {
		got = append(got, fmt.Sprintf("%t/%t", s.Paused, s.Disputed))
	}
	require.Equal(t, []string{"true/false", "true/true", "true/false", "false/false"}, got)
	require.Equal(t, "promise to pay", f.steers[0].PauseReason)
	require.True(t, start.Add(20*day+time.Hour).Equal(*f.steers[0].PausedAt))
	// The day-21 reminder waited for the resume (day 23).
	require.Equal(t, []stepAt{{0, policy.StepInvoice}, {23, policy.StepReminder}, {28, policy.StepReminder}}, f.sent())
}

// TestJourneyPauseSignalIsRecordedOnTheInvoice: a pause sent as a signal
// (Temporal UI, CLI) reaches the invoice row too, and so does its end.
func TestJourneyPauseSignalIsRecordedOnTheInvoice(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	until := start.Add(25 * day)
	f.signal(20*day, SignalPause, PauseSignal{Until: &until, Reason: "from the UI"})
	f.signal(30*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{Status: StatusPaid})
	require.Equal(t, OutcomePaid, f.run().Outcome)
	require.Len(t, f.steers, 2)
	require.True(t, f.steers[0].Paused)
	require.Equal(t, "from the UI", f.steers[0].PauseReason)
	require.False(t, f.steers[1].Paused, "the pause ended by itself at its date")
}

// TestJourneyEndsWhenTheInvoiceIsGone: the one plan failure that is not
// retried: the invoice no longer exists.
func TestJourneyEndsWhenTheInvoiceIsGone(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.planErr = temporal.NewNonRetryableApplicationError("invoice 3 not found", activities.ErrTypeInvoiceGone, nil)
	f.planFailFrom = 1
	f.env.ExecuteWorkflow(InvoiceJourney, f.input)
	require.True(t, f.env.IsWorkflowCompleted())
	require.ErrorContains(t, f.env.GetWorkflowError(), "invoice 3 not found")
	require.Equal(t, 1, f.plans)
	require.Empty(t, f.sends)
}
