package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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

