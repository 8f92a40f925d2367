package workflows

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/policy"
)

const day = 24 * time.Hour

// start is a Monday 09:00 UTC, so offsets in whole days land on known dates.
var start = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

type sendCall struct {
	at   time.Time
	pos  int
	kind policy.StepKind
	key  string
}

// journeyFixture runs InvoiceJourney in the time-skipping test environment
// with recorded activities: the plan is a fixed list of days from the start.
type journeyFixture struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	mu    sync.Mutex
	steps []stepAt
	plans int
	sends []sendCall
	skips []activities.RecordSkippedInput
	// sendResult, when set, decides the answer of SendStep.
	sendResult func(in activities.SendInput) activities.SendResult
}

type stepAt struct {
	day  int
	kind policy.StepKind
}

// defaultSteps: invoice at day 0, due at day 14, reminders at +7 and +14,
// final reminder with an SMS at +21, collection at +35.
func defaultSteps() []stepAt {
	return []stepAt{
		{0, policy.StepInvoice}, {21, policy.StepReminder}, {28, policy.StepReminder},
		{35, policy.StepFinalReminder}, {35, policy.StepSMS}, {49, policy.StepCollection},
	}
}

func newJourneyFixture(t *testing.T, steps []stepAt) *journeyFixture {
	var suite testsuite.WorkflowTestSuite
	f := &journeyFixture{t: t, env: suite.NewTestWorkflowEnvironment(), steps: steps}
	f.env.SetStartTime(start)
	f.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: InvoiceWorkflowID(1, "INV-1")})
	f.env.RegisterWorkflowWithOptions(InvoiceJourney, workflow.RegisterOptions{Name: InvoiceJourneyName})
	f.env.RegisterActivity(a)
	f.env.OnActivity(a.PlanJourney, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PlanInput) (activities.PlanResult, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.plans++
			res := activities.PlanResult{JourneyID: int64(f.plans), JourneyName: "test", MinGap: 3 * day}
			for i, s := range f.steps {
				res.Steps = append(res.Steps, activities.PlannedStep{
					Position: i, OffsetDays: s.day - 14, Kind: s.kind, Template: "default",
					At: in.Anchor.Add(time.Duration(s.day) * day),
				})
			}
			return res, nil
		})
	f.env.OnActivity(a.SendStep, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SendInput) (activities.SendResult, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.sends = append(f.sends, sendCall{at: f.env.Now().UTC(), pos: in.Step.Position, kind: in.Step.Kind, key: in.Key})
			if f.sendResult != nil {
				return f.sendResult(in), nil
			}
			return activities.SendResult{Sent: true, InvoiceStatus: StatusOpen, OpenMinor: 10000,
				Outcomes: []activities.ChannelOutcome{{Channel: policy.ChannelEmail, State: "sent"}}}, nil
		})
	f.env.OnActivity(a.RecordSkipped, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RecordSkippedInput) (activities.RecordSkippedResult, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.skips = append(f.skips, in)
			return activities.RecordSkippedResult{Recorded: len(in.Steps)}, nil
		})
	return f
}

func (f *journeyFixture) at(d time.Duration, fn func()) { f.env.RegisterDelayedCallback(fn, d) }

func (f *journeyFixture) signal(d time.Duration, name string, payload any) {
	f.at(d, func() { f.env.SignalWorkflow(name, payload) })
}

func (f *journeyFixture) state() JourneyState {
	v, err := f.env.QueryWorkflow(QueryState)
	require.NoError(f.t, err)
	var st JourneyState
	require.NoError(f.t, v.Get(&st))
	return st
}

func (f *journeyFixture) run() JourneyResult {
	f.env.ExecuteWorkflow(InvoiceJourney, JourneyInput{
		AdministrationID: 1, CustomerID: 2, CustomerRef: "C-1", InvoiceID: 3, InvoiceNumber: "INV-1",
		OpenMinor: 10000, Currency: "EUR",
	})
	require.True(f.t, f.env.IsWorkflowCompleted())
	require.NoError(f.t, f.env.GetWorkflowError())
	var res JourneyResult
	require.NoError(f.t, f.env.GetWorkflowResult(&res))
	return res
}

// sent lists the kinds sent and the day (from start) each was sent on.
func (f *journeyFixture) sent() []stepAt {
	sends := append([]sendCall(nil), f.sends...)
	// The steps of one slot run in parallel: order them as the journey does.
	sort.SliceStable(sends, func(i, j int) bool {
		if !sends[i].at.Equal(sends[j].at) {
			return sends[i].at.Before(sends[j].at)
		}
		return sends[i].pos < sends[j].pos
	})
	var out []stepAt
	for _, s := range sends {
		out = append(out, stepAt{int(s.at.Sub(start) / day), s.kind})
	}
	return out
}

func TestJourneyRunsEveryStepToCollection(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	res := f.run()
	require.Equal(t, OutcomeCollection, res.Outcome)
	require.Equal(t, StageCollection, res.Stage)
	require.Equal(t, defaultSteps(), f.sent())
	require.Equal(t, 1, f.plans)
	require.Empty(t, f.skips)
	require.Equal(t, "invoice:1:INV-1/-14/invoice", f.sends[0].key)
}

func TestJourneyPaidBeforeFirstReminder(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.signal(5*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{OpenMinor: 0, Status: StatusPaid})
	res := f.run()
	require.Equal(t, OutcomePaid, res.Outcome)
	require.Equal(t, StagePaid, res.Stage)
	require.Equal(t, []stepAt{{0, policy.StepInvoice}}, f.sent())
	require.Equal(t, 5*day, f.env.Now().Sub(start).Round(time.Hour))
}

func TestJourneyPaidMidJourney(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.signal(30*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{OpenMinor: 0, Status: StatusOpen})
	res := f.run()
	require.Equal(t, OutcomePaid, res.Outcome)
	require.Equal(t, []stepAt{{0, policy.StepInvoice}, {21, policy.StepReminder}, {28, policy.StepReminder}}, f.sent())
	require.Equal(t, 3, res.Sent)
}

func TestJourneyCreditedEndsIt(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.signal(22*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{OpenMinor: 0, Status: StatusCredited})
	res := f.run()
	require.Equal(t, OutcomeCredited, res.Outcome)
	require.Equal(t, StageCredited, res.Stage)
	require.Len(t, f.sends, 2)
}

func TestJourneyPartialPaymentKeepsGoing(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.signal(10*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{OpenMinor: 4000, Status: StatusOpen})
	f.at(11*day, func() {
		st := f.state()
		require.Equal(t, int64(4000), st.OpenMinor)
		require.Equal(t, StatusOpen, st.Status)
		require.Equal(t, StageInvoiced, st.Stage)
		require.NotNil(t, st.Next)
		require.Equal(t, policy.StepReminder, st.Next.Kind)
		require.Equal(t, start.Add(21*day), st.Next.At)
	})
	res := f.run()
	require.Equal(t, OutcomeCollection, res.Outcome)
	require.Equal(t, defaultSteps(), f.sent())
}

func TestJourneyPauseWithoutDateThenResume(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.signal(20*day, SignalPause, PauseSignal{Reason: "customer called"})
	f.at(25*day, func() {
		st := f.state()
		require.True(t, st.Paused)
		require.Equal(t, "customer called", st.PauseReason)
		require.Nil(t, st.PausedUntil)
	})
	// Resumed at day 40: the reminders of day 21 and 28 and the final
	// reminder of day 35 fell due while paused; only the latest slot goes.
	f.signal(40*day, SignalResume, ResumeSignal{Reason: "agreed"})
	res := f.run()
	require.Equal(t, OutcomeCollection, res.Outcome)
	require.Equal(t, []stepAt{{0, policy.StepInvoice}, {40, policy.StepFinalReminder}, {40, policy.StepSMS}, {49, policy.StepCollection}}, f.sent())
	require.Len(t, f.skips, 1)
	require.Equal(t, ReasonCaughtUp, f.skips[0].Reason)
	require.Len(t, f.skips[0].Steps, 2)
}

func TestJourneyPauseUntilDateResumesByItself(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	until := start.Add(24 * day)
	f.signal(20*day, SignalPause, PauseSignal{Until: &until, Reason: "promise to pay"})
	f.at(23*day, func() {
		st := f.state()
		require.True(t, st.Paused)
		require.NotNil(t, st.PausedUntil)
		require.True(t, until.Equal(*st.PausedUntil))
	})
	f.at(24*day+time.Hour, func() { require.False(t, f.state().Paused) })
	res := f.run()
	require.Equal(t, OutcomeCollection, res.Outcome)
	// The day-21 reminder waited for the pause to end (day 24), then the
	// next reminder still keeps the 3-day gap.
	require.Equal(t, []stepAt{{0, policy.StepInvoice}, {24, policy.StepReminder}, {28, policy.StepReminder},
		{35, policy.StepFinalReminder}, {35, policy.StepSMS}, {49, policy.StepCollection}}, f.sent())
}

func TestJourneyPauseInThePastIsIgnored(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	past := start.Add(-day)
	f.signal(2*day, SignalPause, PauseSignal{Until: &past, Reason: "typo"})
	f.at(3*day, func() { require.False(t, f.state().Paused) })
	res := f.run()
	require.Equal(t, OutcomeCollection, res.Outcome)
	require.Len(t, f.sends, len(defaultSteps()))
}

func TestJourneyDisputeAndResolution(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.signal(22*day, SignalDispute, DisputeSignal{Reason: "goods damaged"})
	f.at(27*day, func() {
		st := f.state()
		require.True(t, st.Disputed)
		require.Equal(t, "goods damaged", st.DisputeReason)
	})
	f.signal(29*day, SignalDisputeResolved, DisputeResolvedSignal{Reason: "credit agreed"})
	f.at(30*day, func() { require.False(t, f.state().Disputed) })
	res := f.run()
	require.Equal(t, OutcomeCollection, res.Outcome)
	// The day-28 reminder went out when the dispute was resolved (day 29).
	require.Equal(t, []stepAt{{0, policy.StepInvoice}, {21, policy.StepReminder}, {29, policy.StepReminder},
		{35, policy.StepFinalReminder}, {35, policy.StepSMS}, {49, policy.StepCollection}}, f.sent())
}

func TestJourneyDisputeWinsOverPauseDate(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	until := start.Add(23 * day)
	f.signal(20*day, SignalPause, PauseSignal{Until: &until, Reason: "promise"})
	f.signal(21*day, SignalDispute, DisputeSignal{Reason: "wrong price"})
	f.at(30*day, func() { require.True(t, f.state().Disputed) })
	f.signal(31*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{Status: StatusCredited})
	res := f.run()
	require.Equal(t, OutcomeCredited, res.Outcome)
	require.Equal(t, []stepAt{{0, policy.StepInvoice}}, f.sent())
}

func TestJourneyEmailSubmittedIsRecorded(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.signal(3*day, SignalEmailSubmitted, EmailSubmittedSignal{Email: "new@example.com"})
	f.at(4*day, func() {
		st := f.state()
		require.Equal(t, "new@example.com", st.ProvidedEmail)
		require.NotNil(t, st.EmailSubmittedAt)
		require.Equal(t, start.Add(3*day), st.EmailSubmittedAt.UTC())
	})
	f.signal(5*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{Status: StatusPaid})
	require.Equal(t, OutcomePaid, f.run().Outcome)
}

func TestJourneyChangedAppliesToFutureSteps(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.at(22*day, func() {
		f.mu.Lock()
		// The new journey: same start, a reminder every 2 days from day 24, no SMS, collection at 40.
		f.steps = []stepAt{{0, policy.StepInvoice}, {21, policy.StepReminder}, {24, policy.StepReminder},
			{30, policy.StepFinalReminder}, {40, policy.StepCollection}}
		f.mu.Unlock()
		f.env.SignalWorkflow(SignalJourneyChanged, JourneyChangedSignal{JourneyID: 9})
	})
	res := f.run()
	require.Equal(t, OutcomeCollection, res.Outcome)
	require.Equal(t, 2, f.plans)
	require.Equal(t, []stepAt{{0, policy.StepInvoice}, {21, policy.StepReminder}, {24, policy.StepReminder},
		{30, policy.StepFinalReminder}, {40, policy.StepCollection}}, f.sent())
}

func TestJourneyLateImportSendsOnlyLatestDueStep(t *testing.T) {
	// The invoice was issued 30 days ago: its invoice and first reminder are past.
	steps := []stepAt{{-30, policy.StepInvoice}, {-9, policy.StepReminder}, {-2, policy.StepReminder}, {5, policy.StepFinalReminder}, {19, policy.StepCollection}}
	f := newJourneyFixture(t, steps)
	res := f.run()
	require.Equal(t, OutcomeCollection, res.Outcome)
	require.Equal(t, []stepAt{{0, policy.StepReminder}, {5, policy.StepFinalReminder}, {19, policy.StepCollection}}, f.sent())
	require.Len(t, f.skips, 1)
	require.Equal(t, ReasonImportedLate, f.skips[0].Reason)
	require.Equal(t, []policy.StepKind{policy.StepInvoice, policy.StepReminder}, []policy.StepKind{f.skips[0].Steps[0].Kind, f.skips[0].Steps[1].Kind})
}

func TestJourneyMinimumGapBetweenMessages(t *testing.T) {
	steps := []stepAt{{0, policy.StepInvoice}, {1, policy.StepReminder}, {9, policy.StepFinalReminder}}
	f := newJourneyFixture(t, steps)
	res := f.run()
	require.Equal(t, OutcomeCompleted, res.Outcome)
	require.Equal(t, []stepAt{{0, policy.StepInvoice}, {3, policy.StepReminder}, {9, policy.StepFinalReminder}}, f.sent())
}

func TestJourneyNoChannelIsSkippedWithReason(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.sendResult = func(in activities.SendInput) activities.SendResult {
		return activities.SendResult{Skipped: true, Reason: string(policy.ReasonNoChannel), InvoiceStatus: StatusOpen, OpenMinor: 10000}
	}
	f.at(22*day, func() {
		st := f.state()
		require.Equal(t, StepSkipped, st.Steps[0].Status)
		require.Equal(t, string(policy.ReasonNoChannel), st.Steps[0].Reason)
		require.Equal(t, StageScheduled, st.Stage)
	})
	res := f.run()
	// The hand-over to collection happens even when its notice could not go.
	require.Equal(t, OutcomeCollection, res.Outcome)
	require.Equal(t, 0, res.Sent)
	// Nothing was sent, so no gap pushed the steps: each was tried on its day.
	require.Equal(t, defaultSteps(), f.sent())
}

func TestJourneyEndsWhenTheDatabaseSaysPaid(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	n := 0
	f.sendResult = func(in activities.SendInput) activities.SendResult {
		n++
		if n == 2 {
			return activities.SendResult{Skipped: true, Reason: "invoice_closed", InvoiceStatus: StatusPaid}
		}
		return activities.SendResult{Sent: true, InvoiceStatus: StatusOpen, OpenMinor: 10000}
	}
	res := f.run()
	require.Equal(t, OutcomePaid, res.Outcome)
	require.Len(t, f.sends, 2)
}

func TestJourneyQueryShowsPlanAndStage(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.at(22*day, func() {
		st := f.state()
		require.Equal(t, StageReminded, st.Stage)
		require.Len(t, st.Steps, len(defaultSteps()))
		require.Equal(t, StepSent, st.Steps[0].Status)
		require.Equal(t, StepSent, st.Steps[1].Status)
		require.Equal(t, StepPlanned, st.Steps[2].Status)
		require.NotNil(t, st.Next)
		require.Equal(t, start.Add(28*day), st.Next.At)
		require.Equal(t, 2, st.SentCount)
		require.Equal(t, start, st.Anchor)
	})
	f.signal(23*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{Status: StatusPaid})
	require.Equal(t, OutcomePaid, f.run().Outcome)
}

func TestJourneySendNowUpdate(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.at(2*day, func() {
		f.env.UpdateWorkflow(UpdateSendNow, "u1", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { require.Fail(t, "rejected", err.Error()) },
			OnComplete: func(v any, err error) {
				require.NoError(t, err)
				res, ok := v.(SendNowResult)
				require.True(t, ok)
				require.False(t, res.Skipped)
			},
		}, SendNowRequest{Kind: policy.StepReminder, Subject: "A word", Body: "Please call us"})
	})
	f.at(3*day, func() {
		f.env.UpdateWorkflow(UpdateSendNow, "u2", &testsuite.TestUpdateCallback{
			OnAccept:   func() { require.Fail(t, "an unknown kind must be rejected") },
			OnReject:   func(err error) { require.ErrorContains(t, err, "unknown step kind") },
			OnComplete: func(any, error) {},
		}, SendNowRequest{Kind: "fax"})
	})
	f.signal(4*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{Status: StatusPaid})
	res := f.run()
	require.Equal(t, OutcomePaid, res.Outcome)
	require.Equal(t, []stepAt{{0, policy.StepInvoice}, {2, policy.StepReminder}}, f.sent())
	require.Contains(t, f.sends[1].key, "/manual/1")
}
