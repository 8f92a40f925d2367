package workflows

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/policy"
)

// sendNow sends a manual action at d; done receives its outcome (nil: it
// must be accepted and succeed).
func (f *journeyFixture) sendNow(d time.Duration, id string, req SendNowRequest, done func(SendNowResult, error)) {
	f.at(d, func() {
		f.env.UpdateWorkflow(UpdateSendNow, id, &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { require.Fail(f.t, "rejected", "%s: %v", id, err) },
			OnComplete: func(v any, err error) {
				res, _ := v.(SendNowResult)
				if done == nil {
					require.NoError(f.t, err, id)
					return
				}
				done(res, err)
			},
		}, req)
	})
}

// refusedAt sends a manual action at d that the validator must refuse with
// a message containing want.
func (f *journeyFixture) refusedAt(d time.Duration, id string, req SendNowRequest, want string) {
	f.at(d, func() {
		f.env.UpdateWorkflow(UpdateSendNow, id, &testsuite.TestUpdateCallback{
			OnAccept:   func() { require.Fail(f.t, "accepted", "%s must be refused (%s)", id, want) },
			OnReject:   func(err error) { require.ErrorContains(f.t, err, want, id); require.True(f.t, IsRefused(err), id) },
			OnComplete: func(any, error) {},
		}, req)
	})
}

// TestManualActionMovesTheJourneyAtOnce: a manual final reminder on day 2
// moves the stage, the search attribute and the current details at once
// (the loop wakes), skips the planned reminders it moved past, and the
// journey goes on from there; a manual reminder afterwards does not move
// the stage back.
func TestManualActionMovesTheJourneyAtOnce(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	var got SendNowResult
	f.sendNow(2*day, "final-1", SendNowRequest{Kind: policy.StepFinalReminder, Subject: "Last call", Body: "Please pay today"},
		func(res SendNowResult, err error) { require.NoError(t, err); got = res })
	f.at(2*day+time.Minute, func() {
		st := f.state()
		require.Equal(t, StageFinalReminder, st.Stage, "the stage moved with the manual send")
		require.Equal(t, []string{"invoiced", "final_reminder"}, f.stageAttr(), "the search attribute moved at once")
		require.Contains(t, f.details(), "Stage **final_reminder**")
		for _, s := range st.Steps {
			if s.Kind == policy.StepReminder {
				require.Equal(t, StepSkipped, s.Status, "a reminder after a final reminder would move the stage back")
				require.Equal(t, ReasonSuperseded, s.Reason)
			}
		}
	})
	var again SendNowResult
	f.sendNow(3*day, "reminder-1", SendNowRequest{Kind: policy.StepReminder, Body: "A friendly word"},
		func(res SendNowResult, err error) { require.NoError(t, err); again = res })
	res := f.run()
	require.Equal(t, OutcomeCollection, res.Outcome)
	require.Equal(t, StageFinalReminder, got.Stage)
	require.True(t, got.Sent)
	require.Equal(t, StageFinalReminder, again.Stage, "the stage never moves backwards")
	require.Equal(t, []stepAt{{0, policy.StepInvoice}, {2, policy.StepFinalReminder}, {3, policy.StepReminder},
		{35, policy.StepFinalReminder}, {35, policy.StepSMS}, {49, policy.StepCollection}}, f.sent())
	require.Len(t, f.skips, 1, "the superseded reminders are recorded once, for the timeline")
	require.Equal(t, ReasonSuperseded, f.skips[0].Reason)
	require.Len(t, f.skips[0].Steps, 2)
	for _, s := range f.sends {
		if s.kind == policy.StepReminder {
			require.True(t, strings.HasSuffix(s.key, "/manual/reminder-1"), "the outbox key is the Update ID: %s", s.key)
		}
	}
	require.NotContains(t, f.stageAttr()[2:], "reminded", "the search attribute never went back")
}

// TestManualHandOverEndsTheJourney: a manual hand-over joins the customer's
// collection case as the automatic step does and ends the journey: no
// final reminder, no second hand-over afterwards.
func TestManualHandOverEndsTheJourney(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.sendNow(22*day, "hand-over", SendNowRequest{Kind: policy.StepCollection}, func(res SendNowResult, err error) {
		require.NoError(t, err)
		require.Equal(t, StageCollection, res.Stage)
		require.Equal(t, ReasonHandedOver, res.Reason)
	})
	res := f.run()
	require.Equal(t, OutcomeCollection, res.Outcome)
	require.Equal(t, StageCollection, res.Stage)
	require.Equal(t, 22*day, f.env.Now().Sub(start), "the journey ended with the hand-over")
	require.Equal(t, []stepAt{{0, policy.StepInvoice}, {21, policy.StepReminder}, {22, policy.StepCollection}}, f.sent())
}

// TestManualActionDuringTheAutomaticHandOverIsRefused: a manual hand-over
// that arrives while the automatic one runs is answered with a refusal
// once the journey ended: the case gets the invoice once.
func TestManualActionDuringTheAutomaticHandOverIsRefused(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps(), slowJoin(time.Hour))
	var err error
	f.sendNow(49*day+30*time.Minute, "late", SendNowRequest{Kind: policy.StepCollection}, func(_ SendNowResult, e error) { err = e })
	res := f.run()
	require.Equal(t, OutcomeCollection, res.Outcome)
	require.Error(t, err)
	require.True(t, IsRefused(err), "%v", err)
	require.Equal(t, []stepAt{{0, policy.StepInvoice}, {21, policy.StepReminder}, {28, policy.StepReminder},
		{35, policy.StepFinalReminder}, {35, policy.StepSMS}, {49, policy.StepCollection}}, f.sent(), "handed over once")
}

// TestManualActionValidator: the validator refuses, before anything is
// written, what the journey would not send.
func TestManualActionValidator(t *testing.T) {
	pos := 1
	f := newJourneyFixture(t, []stepAt{{0, policy.StepInvoice}, {21, policy.StepReminder}, {35, policy.StepFinalReminder}})
	f.refusedAt(1*day, "fax", SendNowRequest{Kind: "fax"}, "unknown step kind")
	f.refusedAt(1*day, "sms", SendNowRequest{Kind: policy.StepSMS, Body: "hi"}, "has no sms step")
	f.refusedAt(1*day, "edit", SendNowRequest{Kind: policy.StepReminder, Position: &pos, Body: "edited"}, "automatic step cannot be edited")
	f.refusedAt(1*day, "wrong kind", SendNowRequest{Kind: policy.StepFinalReminder, Position: &pos}, "is a reminder step")
	f.signal(2*day, SignalDispute, DisputeSignal{Reason: "wrong price"})
	f.refusedAt(3*day, "disputed", SendNowRequest{Kind: policy.StepReminder}, "disputed")
	f.signal(4*day, SignalDisputeResolved, DisputeResolvedSignal{})
	// The planned reminder, sent now as it is (its template, its key).
	f.sendNow(5*day, "step-1", SendNowRequest{Kind: policy.StepReminder, Position: &pos}, nil)
	f.refusedAt(6*day, "sent already", SendNowRequest{Kind: policy.StepReminder, Position: &pos}, "not a planned step")
	f.signal(7*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{Status: StatusPaid, Revision: 2})
	res := f.run()
	require.Equal(t, OutcomePaid, res.Outcome)
	require.Equal(t, []stepAt{{0, policy.StepInvoice}, {5, policy.StepReminder}}, f.sent())
	require.True(t, strings.HasSuffix(f.sends[1].key, "/7/reminder"), "a planned step sent now keeps its own key: %s", f.sends[1].key)
}

// TestManualActionWhilePausedGoesAtOnce: a pause holds the automatic steps,
// not the admin's action; the journey stays paused.
func TestManualActionWhilePausedGoesAtOnce(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.signal(day, SignalPause, PauseSignal{Reason: "customer called"})
	f.sendNow(5*day, "note", SendNowRequest{Kind: policy.StepReminder, Channels: []policy.Channel{policy.ChannelEmail}, Body: "As agreed"}, nil)
	f.at(5*day+time.Minute, func() {
		st := f.state()
		require.True(t, st.Paused)
		require.Equal(t, StageReminded, st.Stage)
	})
	f.signal(6*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{Status: StatusPaid, Revision: 2})
	res := f.run()
	require.Equal(t, OutcomePaid, res.Outcome)
	require.Equal(t, []stepAt{{0, policy.StepInvoice}, {5, policy.StepReminder}}, f.sent())
}

// TestManualSendBeforeContinueAsNew: an action that arrives while
// the run waits to continue as new is sent by the loop before the run
// hands over (the wait no longer blocks on it).
func TestManualSendBeforeContinueAsNew(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps(), slowSend(6*time.Hour, func(in activities.SendInput) bool { return in.Manual }))
	f.at(20*day, func() { f.env.SetContinueAsNewSuggested(true) })
	f.sendNow(21*day-time.Hour, "manual", SendNowRequest{Kind: policy.StepReminder, Body: "Please call us"}, nil)
	f.env.ExecuteWorkflow(InvoiceJourney, f.input)
	next := continuedInput(t, f.env)
	require.Equal(t, StageReminded, next.State.Stage)
	require.Equal(t, []stepAt{{0, policy.StepInvoice}, {21, policy.StepReminder}}, f.sent(), "the slow manual send ends on day 21")
}
