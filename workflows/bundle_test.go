package workflows

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/policy"
)

// bundledSends makes SendStep queue the steps that ask for a bundle (as the
// activity does when the administration bundles), and records them.
func bundledSends(f *journeyFixture) {
	f.sendResult = func(in activities.SendInput) activities.SendResult {
		if in.Bundle {
			return activities.SendResult{Bundled: true, BundleWorkflowID: BundleWorkflowID(1, 2, "EUR"), InvoiceStatus: StatusOpen, OpenMinor: 10000}
		}
		return activities.SendResult{Sent: true, InvoiceStatus: StatusOpen, OpenMinor: 10000,
			Outcomes: []activities.ChannelOutcome{{Channel: policy.ChannelEmail, State: "sent"}}}
	}
}

// answer signals the bundle's answer about one step at d.
func (f *journeyFixture) answer(d time.Duration, ans activities.BundleAnswer) {
	f.signal(d, SignalBundleAnswer, ans)
}

func sentInBundle(key string) activities.BundleAnswer {
	return activities.BundleAnswer{StepKey: key, BundleKey: "bundle:1:2:EUR/run/1", Result: activities.SendResult{
		Sent: true, InvoiceStatus: StatusOpen, OpenMinor: 10000,
		Outcomes: []activities.ChannelOutcome{{Channel: policy.ChannelEmail, State: "sent", MessageID: 42}},
	}}
}

const (
	keyReminder1 = "invoice:1:INV-1/7/reminder"
	keyReminder2 = "invoice:1:INV-1/14/reminder"
	keyFinal     = "invoice:1:INV-1/21/final_reminder"
	keySMS       = "invoice:1:INV-1/21/sms"
)

func (f *journeyFixture) bundleFlags() map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]bool{}
	for _, s := range f.sends {
		out[s.key] = out[s.key] || s.bundle
	}
	return out
}

// TestJourneyBundledStepsTakeTheBundlesAnswer: the reminders, the final
// reminder and its SMS ask for the customer's bundle; the invoice step
// does not. Each bundled step waits for its answer and takes it as its
// send: the journey runs to collection as it would alone.
func TestJourneyBundledStepsTakeTheBundlesAnswer(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	bundledSends(f)
	f.answer(21*day+time.Hour, sentInBundle(keyReminder1))
	f.answer(28*day+time.Hour, sentInBundle(keyReminder2))
	f.answer(35*day+time.Hour, sentInBundle(keyFinal))
	f.answer(35*day+time.Hour, sentInBundle(keySMS))
	f.at(21*day+30*time.Minute, func() {
		st := f.state()
		require.Equal(t, StageInvoiced, st.Stage, "a queued step moves nothing yet")
		require.Contains(t, f.details(), "Waiting for the customer's bundle "+BundleWorkflowID(1, 2, "EUR"))
	})
	res := f.run()
	require.Equal(t, OutcomeCollection, res.Outcome)
	require.Equal(t, 5, res.Sent, "invoice, two reminders, final reminder and SMS (one slot), hand-over")
	flags := f.bundleFlags()
	require.False(t, flags["invoice:1:INV-1/-14/invoice"], "the invoice itself is never bundled")
	for _, k := range []string{keyReminder1, keyReminder2, keyFinal, keySMS} {
		require.True(t, flags[k], "%s asks for the bundle", k)
	}
	st := f.state()
	for _, s := range st.Steps {
		require.NotEqual(t, StepBundled, s.Status)
	}
	require.Equal(t, StageCollection, st.Stage)
}

// TestJourneyPaidWhileBundledEndsAtOnce: a payment that arrives while a
// step waits in the bundle ends the journey then; the bundle's answer
// (it finds the invoice paid) does not keep the journey waiting.
func TestJourneyPaidWhileBundledEndsAtOnce(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	bundledSends(f)
	f.signal(21*day+10*time.Minute, SignalInvoiceUpdated, InvoiceUpdatedSignal{OpenMinor: 0, Status: StatusPaid, Revision: 2})
	res := f.run()
	require.Equal(t, OutcomePaid, res.Outcome)
	require.Equal(t, 21*day+10*time.Minute, f.env.Now().Sub(start))
}

// TestJourneyBundleAnswersNotBefore: the customer's minimum gap moves the
// step: the journey asks again at the time the bundle gave, and the
// second answer sends it.
func TestJourneyBundleAnswersNotBefore(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	bundledSends(f)
	later := start.Add(25 * day)
	f.answer(21*day+time.Hour, activities.BundleAnswer{StepKey: keyReminder1, NotBefore: &later, Reason: activities.ReasonCustomerGap})
	f.answer(25*day+time.Hour, sentInBundle(keyReminder1))
	f.signal(26*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{OpenMinor: 0, Status: StatusPaid, Revision: 2})
	res := f.run()
	require.Equal(t, OutcomePaid, res.Outcome)
	var asked []int
	for _, s := range f.sends {
		if s.key == keyReminder1 {
			asked = append(asked, int(s.at.Sub(start)/day))
		}
	}
	require.Equal(t, []int{21, 25}, asked, "asked at its time, then again when the gap allowed")
	require.Equal(t, StepSent, firstReminder(f).Status)
}

// firstReminder is the state of the first reminder (keyReminder1).
func firstReminder(f *journeyFixture) StepState {
	for _, s := range f.state().Steps {
		if s.Kind == policy.StepReminder && s.OffsetDays == 7 {
			return s
		}
	}
	require.Fail(f.t, "no first reminder")
	return StepState{}
}

// TestJourneyBundleRequeueWhilePaused: the invoice is paused while its
// step waits; the bundle gives the step back; after the pause the journey
// asks again and the answer sends it.
func TestJourneyBundleRequeueWhilePaused(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	bundledSends(f)
	f.at(21*day+10*time.Minute, update(f, UpdatePause, PauseRequest{Reason: "called"}, true, nil))
	f.answer(21*day+time.Hour, activities.BundleAnswer{StepKey: keyReminder1, Requeue: true, Reason: activities.ReasonRequeued})
	f.at(21*day+2*time.Hour, func() {
		st := f.state()
		require.True(t, st.Paused)
		require.Equal(t, StageInvoiced, st.Stage)
		require.Equal(t, policy.StepReminder, st.Next.Kind, "the step is planned again")
	})
	f.at(23*day, update(f, UpdateResume, ResumeRequest{Reason: "no answer"}, true, nil))
	f.answer(23*day+time.Hour, sentInBundle(keyReminder1))
	f.signal(24*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{OpenMinor: 0, Status: StatusPaid, Revision: 2})
	res := f.run()
	require.Equal(t, OutcomePaid, res.Outcome)
	var asked []int
	for _, s := range f.sends {
		if s.key == keyReminder1 {
			asked = append(asked, int(s.at.Sub(start)/day))
		}
	}
	require.Equal(t, []int{21, 23}, asked)
}

// TestJourneyBundleSilentIsAskedAgain: a bundle that never answers (its
// workflow terminated by hand) is asked again a day later.
func TestJourneyBundleSilentIsAskedAgain(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	bundledSends(f)
	f.answer(22*day+time.Hour, sentInBundle(keyReminder1))
	f.signal(23*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{OpenMinor: 0, Status: StatusPaid, Revision: 2})
	res := f.run()
	require.Equal(t, OutcomePaid, res.Outcome)
	var asked []time.Duration
	for _, s := range f.sends {
		if s.key == keyReminder1 {
			asked = append(asked, s.at.Sub(start))
		}
	}
	require.Equal(t, []time.Duration{21 * day, 22 * day}, asked)
	require.Equal(t, StepSent, firstReminder(f).Status)
}

// TestJourneyManualActionWhileBundled: a manual action goes at once while
// a step waits in the bundle, on its own (never bundled).
func TestJourneyManualActionWhileBundled(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	bundledSends(f)
	var got SendNowResult
	f.sendNow(21*day+10*time.Minute, "manual-1", SendNowRequest{Kind: policy.StepReminder, Body: "Please call us"}, func(r SendNowResult, err error) {
		require.NoError(t, err)
		got = r
	})
	f.answer(21*day+time.Hour, sentInBundle(keyReminder1))
	f.signal(22*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{OpenMinor: 0, Status: StatusPaid, Revision: 2})
	res := f.run()
	require.Equal(t, OutcomePaid, res.Outcome)
	require.True(t, got.Sent, "the manual action went")
	for _, s := range f.sends {
		if s.manual {
			require.False(t, s.bundle, "a manual action is never bundled")
			require.Equal(t, 21*day+10*time.Minute, s.at.Sub(start), "it went at once")
		}
	}
}

// bundleFixture runs CustomerBundle with a fake SendBundle.
type bundleFixture struct {
	env   *testsuite.TestWorkflowEnvironment
	mu    sync.Mutex
	calls []activities.SendBundleInput
	// queues are the task queues the rounds ran on.
	queues []string
}

func newBundleFixture(t *testing.T, sendTakes time.Duration) *bundleFixture {
	var suite testsuite.WorkflowTestSuite
	f := &bundleFixture{env: suite.NewTestWorkflowEnvironment()}
	f.env.SetStartTime(start)
	f.env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: time.Minute})
	f.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: BundleWorkflowID(1, 2, "EUR")})
	f.env.RegisterWorkflowWithOptions(CustomerBundle, workflow.RegisterOptions{Name: CustomerBundleName})
	f.env.RegisterActivity(a)
	f.env.OnActivity(a.SendBundle, mock.Anything, mock.Anything).After(sendTakes).Return(
		func(ctx context.Context, in activities.SendBundleInput) (activities.SendBundleResult, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.calls = append(f.calls, in)
			f.queues = append(f.queues, activity.GetInfo(ctx).TaskQueue)
			return activities.SendBundleResult{Items: 3, Sent: true, Kind: policy.StepReminder}, nil
		})
	return f
}

// TestCustomerBundleCollectsThenSendsOnce: nudges within the window make
// one round, sent once the window has passed; then the bundle ends.
func TestCustomerBundleCollectsThenSendsOnce(t *testing.T) {
	f := newBundleFixture(t, time.Second)
	for _, d := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
		f.env.RegisterDelayedCallback(func() { f.env.SignalWorkflow(SignalBundleNudge, BundleNudgeSignal{InvoiceID: 7}) }, d)
	}
	f.env.ExecuteWorkflow(CustomerBundle, BundleInput{AdministrationID: 1, CustomerID: 2, Currency: "EUR", Window: 5 * time.Minute})
	require.True(t, f.env.IsWorkflowCompleted())
	require.NoError(t, f.env.GetWorkflowError())
	var res BundleResult
	require.NoError(t, f.env.GetWorkflowResult(&res))
	require.Equal(t, BundleResult{Rounds: 1, Items: 3}, res)
	require.Len(t, f.calls, 1)
	in := f.calls[0]
	require.Equal(t, int64(2), in.CustomerID)
	require.Equal(t, "EUR", in.Currency)
	require.True(t, strings.HasPrefix(in.Key, BundleWorkflowID(1, 2, "EUR")+"/") && strings.HasSuffix(in.Key, "/1"), in.Key)
	require.True(t, start.Add(5*time.Minute).Equal(in.At), "the bundle's clock is the workflow's")
}

// TestCustomerBundleNudgedDuringSendSendsAgain: a request that arrives
// while the bundle sends gets a round of its own, after a new window.
func TestCustomerBundleNudgedDuringSendSendsAgain(t *testing.T) {
	f := newBundleFixture(t, time.Minute)
	f.env.RegisterDelayedCallback(func() { f.env.SignalWorkflow(SignalBundleNudge, BundleNudgeSignal{InvoiceID: 8}) }, 5*time.Minute+30*time.Second)
	f.env.ExecuteWorkflow(CustomerBundle, BundleInput{AdministrationID: 1, CustomerID: 2, Currency: "EUR", Window: 5 * time.Minute})
	require.True(t, f.env.IsWorkflowCompleted())
	require.NoError(t, f.env.GetWorkflowError())
	var res BundleResult
	require.NoError(t, f.env.GetWorkflowResult(&res))
	require.Equal(t, 2, res.Rounds)
	require.Len(t, f.calls, 2)
	require.NotEqual(t, f.calls[0].Key, f.calls[1].Key, "each round has its own outbox key")
	require.True(t, start.Add(11*time.Minute).Equal(f.calls[1].At), "the second round waited a window after the first: %s", f.calls[1].At)
}

// TestCustomerBundleQueueFollowsKinds: a round of reminders runs on the
// main queue; a round that carries an SMS step on the rate-limited one.
func TestCustomerBundleQueueFollowsKinds(t *testing.T) {
	f := newBundleFixture(t, time.Minute)
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(SignalBundleNudge, BundleNudgeSignal{InvoiceID: 7, Kind: policy.StepReminder})
	}, time.Minute)
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(SignalBundleNudge, BundleNudgeSignal{InvoiceID: 8, Kind: policy.StepSMS})
	}, 5*time.Minute+30*time.Second)
	f.env.ExecuteWorkflow(CustomerBundle, BundleInput{AdministrationID: 1, CustomerID: 2, Currency: "EUR", Window: 5 * time.Minute})
	require.True(t, f.env.IsWorkflowCompleted())
	require.NoError(t, f.env.GetWorkflowError())
	require.Equal(t, []string{TaskQueue, SMSTaskQueue}, f.queues)
}

// TestCustomerBundleLongHistorySendsEarly: a window whose nudges grew the
// history past its bound is sent at once, and a bundle with more to send
// continues as new.
func TestCustomerBundleLongHistorySendsEarly(t *testing.T) {
	f := newBundleFixture(t, time.Minute)
	f.env.RegisterDelayedCallback(func() {
		f.env.SetCurrentHistoryLength(bundleHistoryLimit + 1)
		f.env.SignalWorkflow(SignalBundleNudge, BundleNudgeSignal{InvoiceID: 7, Kind: policy.StepReminder})
	}, time.Minute)
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(SignalBundleNudge, BundleNudgeSignal{InvoiceID: 8, Kind: policy.StepReminder})
	}, time.Minute+30*time.Second)
	f.env.ExecuteWorkflow(CustomerBundle, BundleInput{AdministrationID: 1, CustomerID: 2, Currency: "EUR", Window: 5 * time.Minute})
	require.True(t, f.env.IsWorkflowCompleted())
	require.Len(t, f.calls, 1)
	require.True(t, start.Add(time.Minute).Equal(f.calls[0].At), "sent when the history got long, not after the window: %s", f.calls[0].At)
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, f.env.GetWorkflowError(), &can, "more to send: it continues as new")
}

// TestCustomerBundleRefusesBadInput: a bundle needs its customer and currency.
func TestCustomerBundleRefusesBadInput(t *testing.T) {
	f := newBundleFixture(t, time.Second)
	f.env.ExecuteWorkflow(CustomerBundle, BundleInput{AdministrationID: 1, CustomerID: 2})
	require.True(t, f.env.IsWorkflowCompleted())
	require.Error(t, f.env.GetWorkflowError())
	require.Empty(t, f.calls)
}

// TestSignalNamesMatchActivities: the activities signal journeys by the
// name this package defines (they cannot import it).
func TestSignalNamesMatchActivities(t *testing.T) {
	require.Equal(t, SignalBundleAnswer, activities.SignalBundleAnswer)
}
