package workflows

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/policy"
)

const day = 24 * time.Hour

// start is a Monday 09:00 UTC, so offsets in whole days land on known dates.
var start = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

type sendCall struct {
	at     time.Time
	pos    int
	kind   policy.StepKind
	key    string
	anchor time.Time
	// bundle and manual are the send's Bundle and Manual flags.
	bundle, manual bool
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
	// flags and steers are the FlagInvoice and RecordSteering calls.
	flags  []activities.FlagInvoiceInput
	steers []activities.RecordSteeringInput
	// upserts are the search-attribute updates, with the day they happened.
	upserts []upsert
	// planErr, when set, fails the PlanJourney calls from the planFailFrom-th on.
	planErr      error
	planFailFrom int
	// input is the workflow input of run (a test may change it first).
	input JourneyInput
	// sendResult, when set, decides the answer of SendStep.
	sendResult func(in activities.SendInput) activities.SendResult
}

type upsert struct {
	day    float64
	stage  string
	paused *bool
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

// newJourneyFixture builds the fixture; first registers mocks that must be
// matched before the fixture's catch-all ones (e.g. a slow send of one kind).
func newJourneyFixture(t *testing.T, steps []stepAt, first ...func(f *journeyFixture)) *journeyFixture {
	var suite testsuite.WorkflowTestSuite
	f := &journeyFixture{t: t, env: suite.NewTestWorkflowEnvironment(), steps: steps, input: JourneyInput{
		AdministrationID: 1, CustomerID: 2, CustomerRef: "C-1", InvoiceID: 3, InvoiceNumber: "INV-1",
		OpenMinor: 10000, Currency: "EUR",
	}}
	f.env.SetStartTime(start)
	// A loaded machine (CI) can stall a workflow goroutine past the SDK's
	// one-second deadlock detector; no journey test runs that long on purpose.
	f.env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: time.Minute})
	f.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: InvoiceWorkflowID(1, "INV-1")})
	f.env.RegisterWorkflowWithOptions(InvoiceJourney, workflow.RegisterOptions{Name: InvoiceJourneyName})
	f.env.RegisterActivity(a)
	for _, fn := range first {
		fn(f)
	}
	f.env.OnActivity(a.PlanJourney, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PlanInput) (activities.PlanResult, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.plans++
			if f.planErr != nil && f.plans >= f.planFailFrom {
				return activities.PlanResult{}, f.planErr
			}
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
			return f.recordSend(in), nil
		})
	// From ChangeCollectionCase on, the collection step joins the case:
	// recorded as the collection step's send.
	f.env.OnActivity(a.JoinCase, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.JoinCaseInput) (activities.JoinCaseResult, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.sends = append(f.sends, sendCall{at: f.env.Now().UTC(), kind: policy.StepCollection, key: in.WorkflowID + "/join"})
			return activities.JoinCaseResult{CaseID: 1, CaseWorkflowID: CaseWorkflowID(1, 1), InvoiceStatus: StatusOpen, OpenMinor: 10000}, nil
		})
	f.env.OnActivity(a.RecordSkipped, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RecordSkippedInput) (activities.RecordSkippedResult, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.skips = append(f.skips, in)
			return activities.RecordSkippedResult{Recorded: len(in.Steps)}, nil
		})
	f.env.OnActivity(a.FlagInvoice, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FlagInvoiceInput) (activities.FlagInvoiceResult, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.flags = append(f.flags, in)
			return activities.FlagInvoiceResult{Changed: true}, nil
		})
	f.env.OnActivity(a.RecordSteering, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RecordSteeringInput) (activities.RecordSteeringResult, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.steers = append(f.steers, in)
			return activities.RecordSteeringResult{Changed: true}, nil
		})
	f.env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		u := upsert{day: float64(f.env.Now().Sub(start)) / float64(day)}
		if v, ok := sa.GetKeyword(AttrStage); ok {
			u.stage = v
		}
		if v, ok := sa.GetBool(AttrPaused); ok {
			u.paused = &v
		}
		f.mu.Lock()
		f.upserts = append(f.upserts, u)
		f.mu.Unlock()
	})
	return f
}

// recordSend is the fake SendStep: it records the call and answers.
// Callers hold f.mu.
func (f *journeyFixture) recordSend(in activities.SendInput) activities.SendResult {
	f.sends = append(f.sends, sendCall{at: f.env.Now().UTC(), pos: in.Step.Position, kind: in.Step.Kind, key: in.Key, anchor: in.Anchor, bundle: in.Bundle, manual: in.Manual})
	if f.sendResult != nil {
		return f.sendResult(in)
	}
	return activities.SendResult{Sent: true, InvoiceStatus: StatusOpen, OpenMinor: 10000,
		Outcomes: []activities.ChannelOutcome{{Channel: policy.ChannelEmail, State: "sent"}}}
}

// slowSend makes the sends that match take d on the workflow's clock.
func slowSend(d time.Duration, match func(in activities.SendInput) bool) func(f *journeyFixture) {
	return func(f *journeyFixture) {
		f.env.OnActivity(a.SendStep, mock.Anything, mock.MatchedBy(match)).After(d).Return(
			func(_ context.Context, in activities.SendInput) (activities.SendResult, error) {
				f.mu.Lock()
				defer f.mu.Unlock()
				return f.recordSend(in), nil
			})
	}
}

// slowJoin makes the collection step's hand-over (JoinCase) take d.
func slowJoin(d time.Duration) func(f *journeyFixture) {
	return func(f *journeyFixture) {
		f.env.OnActivity(a.JoinCase, mock.Anything, mock.Anything).After(d).Return(
			func(_ context.Context, in activities.JoinCaseInput) (activities.JoinCaseResult, error) {
				f.mu.Lock()
				defer f.mu.Unlock()
				f.sends = append(f.sends, sendCall{at: f.env.Now().UTC(), kind: policy.StepCollection, key: in.WorkflowID + "/join"})
				return activities.JoinCaseResult{CaseID: 1, CaseWorkflowID: CaseWorkflowID(1, 1), InvoiceStatus: StatusOpen, OpenMinor: 10000}, nil
			})
	}
}

// pausedAttr lists the RelancePaused values upserted, with their day.
func (f *journeyFixture) pausedAttr() []string {
	var out []string
	for _, u := range f.upserts {
		if u.paused != nil {
			out = append(out, fmt.Sprintf("%g:%t", u.day, *u.paused))
		}
	}
	return out
}

// stageAttr lists the RelanceStage values upserted, in order.
func (f *journeyFixture) stageAttr() []string {
	var out []string
	for _, u := range f.upserts {
		if u.stage != "" {
			out = append(out, u.stage)
		}
	}
	return out
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

// details is the run's current details, as the UI shows them.
func (f *journeyFixture) details() string {
	v, err := f.env.QueryWorkflow("__temporal_workflow_metadata")
	require.NoError(f.t, err)
	var md sdkpb.WorkflowMetadata
	require.NoError(f.t, v.Get(&md))
	return md.GetCurrentDetails()
}

func (f *journeyFixture) run() JourneyResult {
	f.env.ExecuteWorkflow(InvoiceJourney, f.input)
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
	// Every send carries the journey's day 0, for the scaled-day clock.
	for _, s := range f.sends {
		if s.kind == policy.StepCollection {
			continue // the hand-over joins the case: no message, no anchor
		}
		require.True(t, start.Equal(s.anchor), "send %s anchor %s", s.key, s.anchor)
	}
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
	require.Equal(t, 30*day, f.env.Now().Sub(start), "it ended when the payment arrived")
	st := f.state()
	require.Equal(t, StagePaid, st.Stage)
	require.Equal(t, StatusPaid, st.Status)
	require.Equal(t, int64(0), st.OpenMinor)
	require.Len(t, st.Sent, 3)
	require.Empty(t, st.Planned)
	require.Equal(t, []string{"invoiced", "reminded", "paid"}, f.stageAttr())
}

// TestJourneyIgnoresStaleInvoiceUpdates: concurrent payments signal after
// their commits, so their signals may arrive out of order; the invoice's
// revision keeps a late "still open" from undoing the payment that closed it.
func TestJourneyIgnoresStaleInvoiceUpdates(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.signal(22*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{OpenMinor: 4000, Status: StatusOpen, Revision: 2})
	f.signal(22*day+time.Minute, SignalInvoiceUpdated, InvoiceUpdatedSignal{OpenMinor: 7000, Status: StatusOpen, Revision: 1})
	f.env.RegisterDelayedCallback(func() {
		st := f.state()
		require.Equal(t, int64(4000), st.OpenMinor, "revision 1 came late: ignored")
		require.EqualValues(t, 2, st.Revision)
	}, 23*day)
	// Same instant: the paid update (revision 4) and a stale open one (3).
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(SignalInvoiceUpdated, InvoiceUpdatedSignal{OpenMinor: 0, Status: StatusPaid, Revision: 4})
		f.env.SignalWorkflow(SignalInvoiceUpdated, InvoiceUpdatedSignal{OpenMinor: 1000, Status: StatusOpen, Revision: 3})
	}, 24*day)
	res := f.run()
	require.Equal(t, OutcomePaid, res.Outcome)
	require.Equal(t, 24*day, f.env.Now().Sub(start))
	st := f.state()
	require.Equal(t, StatusPaid, st.Status)
	require.Zero(t, st.OpenMinor)
}

func TestJourneyCreditedEndsIt(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.signal(22*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{OpenMinor: 0, Status: StatusCredited})
	res := f.run()
	require.Equal(t, OutcomeCredited, res.Outcome)
	require.Equal(t, StageCredited, res.Stage)
	require.Equal(t, []stepAt{{0, policy.StepInvoice}, {21, policy.StepReminder}}, f.sent())
	require.Equal(t, StatusCredited, f.state().Status)
	require.Equal(t, []string{"invoiced", "reminded", "credited"}, f.stageAttr())
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
	require.Equal(t, int64(4000), f.state().OpenMinor, "the partial payment stays in the state")
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
	st := f.state()
	require.False(t, st.Paused)
	require.Empty(t, st.PauseReason)
	require.Equal(t, StepSkipped, st.Steps[1].Status)
	require.Equal(t, ReasonCaughtUp, st.Steps[1].Reason)
	require.Equal(t, StepSkipped, st.Steps[2].Status)
	// Invoice, final reminder and SMS; the collection step handed over.
	require.Len(t, st.Sent, 3)
	require.Equal(t, []string{"20:true", "40:false"}, f.pausedAttr())
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
	require.False(t, f.state().Disputed)
	require.Equal(t, []string{"22:true", "29:false"}, f.pausedAttr(), "a dispute shows as paused to ops")
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
	st := f.state()
	require.Equal(t, int64(2), st.JourneyID, "the second plan")
	require.Len(t, st.Steps, 5, "the SMS step of the old journey is gone")
	require.Len(t, st.Sent, 4, "and the collection step handed over to the case")
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
	require.Contains(t, f.sends[1].key, "/manual/u1", "the outbox key is the Update ID")
}

func TestJourneyKeepsSearchAttributesCurrent(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.signal(20*day, SignalPause, PauseSignal{Reason: "call"})
	f.signal(22*day, SignalResume, ResumeSignal{})
	res := f.run()
	require.Equal(t, OutcomeCollection, res.Outcome)
	// The SMS beside the final reminder does not move the stage.
	require.Equal(t, []string{"invoiced", "reminded", "final_reminder", "collection"}, f.stageAttr())
	require.Equal(t, []string{"20:true", "22:false"}, f.pausedAttr())
}

func TestJourneyStateListsSentAndPlannedSteps(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.at(22*day, func() {
		st := f.state()
		require.Len(t, st.Steps, 6)
		require.Len(t, st.Sent, 2)
		require.Equal(t, policy.StepInvoice, st.Sent[0].Kind)
		require.Equal(t, policy.StepReminder, st.Sent[1].Kind)
		require.Equal(t, []string{"email:sent"}, st.Sent[1].Channels)
		require.NotNil(t, st.Sent[1].HandledAt)
		require.Equal(t, start.Add(21*day), st.Sent[1].HandledAt.UTC())
		require.Len(t, st.Planned, 4)
		for _, p := range st.Planned {
			require.Equal(t, StepPlanned, p.Status)
		}
		require.Equal(t, policy.StepCollection, st.Planned[3].Kind)
		require.NotNil(t, st.Next)
		require.Equal(t, policy.StepReminder, st.Next.Kind)
	})
	f.signal(30*day, SignalInvoiceUpdated, InvoiceUpdatedSignal{OpenMinor: 0, Status: StatusPaid})
	res := f.run()
	require.Equal(t, OutcomePaid, res.Outcome)
	// After the end: nothing planned any more, the sent steps stay.
	st := f.state()
	require.Equal(t, StagePaid, st.Stage)
	require.Nil(t, st.Next)
	require.Empty(t, st.Planned)
	require.Len(t, st.Sent, 3)
	require.Equal(t, []string{"invoiced", "reminded", "paid"}, f.stageAttr())
}

func TestJourneyNextStepDateFollowsThePauseEnd(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	until := start.Add(30 * day)
	f.signal(22*day, SignalPause, PauseSignal{Until: &until, Reason: "promise to pay"})
	f.at(23*day, func() {
		st := f.state()
		require.True(t, st.Paused)
		require.NotNil(t, st.Next)
		require.Equal(t, policy.StepReminder, st.Next.Kind)
		require.Equal(t, until, st.Next.At.UTC(), "the day-28 reminder waits for the pause to end")
	})
	res := f.run()
	require.Equal(t, OutcomeCollection, res.Outcome)
	require.Equal(t, []stepAt{{0, policy.StepInvoice}, {21, policy.StepReminder}, {30, policy.StepReminder},
		{35, policy.StepFinalReminder}, {35, policy.StepSMS}, {49, policy.StepCollection}}, f.sent())
	require.Equal(t, []string{"22:true", "30:false"}, f.pausedAttr())
}

// continuedInput checks that the run continued as new and returns the next run's input.
func continuedInput(t *testing.T, env *testsuite.TestWorkflowEnvironment) JourneyInput {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(env.GetWorkflowError(), &can), "want continue-as-new, got %v", env.GetWorkflowError())
	require.Equal(t, InvoiceJourneyName, can.WorkflowType.Name)
	var next JourneyInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	return next
}

func TestJourneyContinuesAsNewCarryingItsState(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.signal(23*day, SignalEmailSubmitted, EmailSubmittedSignal{Email: "new@example.com"})
	f.at(24*day, func() { f.env.SetContinueAsNewSuggested(true) })
	f.env.ExecuteWorkflow(InvoiceJourney, f.input)
	next := continuedInput(t, f.env)
	// The first run stopped at the day-28 reminder, before sending it.
	require.Equal(t, []stepAt{{0, policy.StepInvoice}, {21, policy.StepReminder}}, f.sent())
	require.Equal(t, start.Add(28*day), f.env.Now().UTC())
	require.Equal(t, f.input.InvoiceNumber, next.InvoiceNumber)
	require.NotNil(t, next.State)
	require.Equal(t, StageReminded, next.State.Stage)
	require.Equal(t, 2, next.State.SentCount)
	require.Equal(t, "new@example.com", next.State.ProvidedEmail)
	require.Equal(t, start, next.State.Anchor.UTC())
	require.Empty(t, next.State.Sent, "query-only lists are not carried over")

	// The next run goes on where the first stopped: no re-plan, nothing twice.
	g := newJourneyFixture(t, defaultSteps())
	g.env.SetStartTime(start.Add(28 * day))
	g.input = next
	res := g.run()
	require.Equal(t, OutcomeCollection, res.Outcome)
	require.Equal(t, 4, res.Sent, "the collection step hands over, it sends nothing")
	require.Equal(t, 0, g.plans)
	require.Equal(t, []stepAt{{28, policy.StepReminder}, {35, policy.StepFinalReminder}, {35, policy.StepSMS}, {49, policy.StepCollection}}, g.sent())
	require.Equal(t, "invoice:1:INV-1/14/reminder", g.sends[0].key, "the same key as without continue-as-new")
	require.Equal(t, "new@example.com", g.state().ProvidedEmail)
}

func TestJourneyHistoryLimitFromInput(t *testing.T) {
	t.Run("a low limit continues as new", func(t *testing.T) {
		f := newJourneyFixture(t, defaultSteps())
		f.input.MaxHistoryEvents = 50
		f.at(22*day, func() { f.env.SetCurrentHistoryLength(60) })
		f.env.ExecuteWorkflow(InvoiceJourney, f.input)
		next := continuedInput(t, f.env)
		require.Equal(t, 50, next.MaxHistoryEvents, "the limit is carried over")
		require.Len(t, f.sends, 2)
	})
	t.Run("the default limit does not", func(t *testing.T) {
		f := newJourneyFixture(t, defaultSteps())
		f.at(22*day, func() { f.env.SetCurrentHistoryLength(60) })
		require.Equal(t, OutcomeCollection, f.run().Outcome)
		require.Len(t, f.sends, len(defaultSteps()))
	})
	t.Run("a limit below the floor is raised to it", func(t *testing.T) {
		f := newJourneyFixture(t, defaultSteps())
		f.input.MaxHistoryEvents = 1
		f.at(22*day, func() { f.env.SetCurrentHistoryLength(minHistoryLimit) })
		require.Equal(t, OutcomeCollection, f.run().Outcome)
	})
}

func TestJourneyReplanFailureKeepsThePlan(t *testing.T) {
	f := newJourneyFixture(t, defaultSteps())
	f.planErr = temporal.NewNonRetryableApplicationError("journey 9 not found", activities.ErrTypePermanent, nil)
	f.planFailFrom = 2
	f.signal(22*day, SignalJourneyChanged, JourneyChangedSignal{JourneyID: 9})
	f.at(23*day, func() {
		st := f.state()
		require.False(t, st.ReplanPending)
		require.Equal(t, "test", st.JourneyName)
		require.Len(t, st.Planned, 4)
	})
	res := f.run()
	require.Equal(t, OutcomeCollection, res.Outcome)
	require.Greater(t, f.plans, 2, "the re-plan is tried again")
	require.Equal(t, defaultSteps(), f.sent())
	require.Greater(t, len(f.flags), 1, "flagged at each failure")
	for _, fl := range f.flags {
		require.Equal(t, activities.AttentionReplanFailed, fl.Reason)
	}
}
