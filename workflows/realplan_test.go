package workflows_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the expected instants must not depend on the machine's zoneinfo

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
	"gorm.io/gorm"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/journeys"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/schedule"
	"github.com/relance/relance/workflows"
)

// These tests run InvoiceJourney in the time-skipping environment with the
// REAL PlanJourney (and, for the no-channel case, the real SendStep) against
// PostgreSQL and SQLite: the dates the journey sends on come from the
// administration's send window and holiday calendar, not from a mock.

var amsterdam = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		panic(err)
	}
	return loc
}()

func local(m time.Month, d, h int) time.Time {
	return time.Date(2026, m, d, h, 0, 0, 0, amsterdam).UTC()
}

type realFixture struct {
	db   *gorm.DB
	adm  models.Administration
	cust models.Customer
	inv  models.Invoice
}

// newRealFixture: an NL administration (Europe/Amsterdam, 09-17), one
// customer, one invoice issued on Easter Monday 2026 and due Monday 20 April.
func newRealFixture(t *testing.T, gdb *gorm.DB, cust models.Customer, steps []journeys.Step) *realFixture {
	t.Helper()
	f := &realFixture{db: gdb}
	org := models.Organization{Name: "Real", InboxRead: models.ReadManually}
	require.NoError(t, gdb.Create(&org).Error)
	f.adm = models.Administration{OrganizationID: org.ID, Name: "Real BV", Country: "NL", TimeZone: "Europe/Amsterdam",
		Currency: "EUR", Language: "en", AdministrationSettings: models.DefaultAdministrationSettings()}
	// One invoice, its own messages: the bundle path has its own tests
	// (bundle_test.go, the live scenario in histories_test.go).
	f.adm.Bundling = models.BundlingOff
	require.NoError(t, gdb.Create(&f.adm).Error)
	cust.AdministrationID, cust.ExternalRef, cust.Name, cust.Language = f.adm.ID, "R-1", "Customer", "en"
	cust.PortalToken = fmt.Sprintf("real-%d", time.Now().UnixNano())
	f.cust = cust
	require.NoError(t, gdb.Create(&f.cust).Error)
	if steps != nil {
		j := models.Journey{AdministrationID: f.adm.ID, Name: "Own", MinGapDays: 3}
		for i, s := range steps {
			j.Steps = append(j.Steps, models.JourneyStep{Position: i, OffsetDays: s.OffsetDays, Kind: string(s.Kind), Template: journeys.DefaultTemplate})
		}
		require.NoError(t, gdb.Create(&j).Error)
		require.NoError(t, gdb.Model(&f.cust).Update("journey_id", j.ID).Error)
	}
	f.inv = models.Invoice{AdministrationID: f.adm.ID, CustomerID: f.cust.ID, Number: "R-2026-1",
		IssueDate: time.Date(2026, 4, 6, 0, 0, 0, 0, time.UTC), DueDate: time.Date(2026, 4, 20, 0, 0, 0, 0, time.UTC),
		Currency: "EUR", AmountMinor: 10000, OpenMinor: 10000, Status: models.InvoiceOpen, Stage: "scheduled",
		WorkflowID: workflows.InvoiceWorkflowID(f.adm.ID, "R-2026-1")}
	require.NoError(t, gdb.Create(&f.inv).Error)
	return f
}

type sent struct {
	at   time.Time
	kind policy.StepKind
	pos  int
	res  activities.SendResult
}

// run executes the journey from 06:00 UTC on the issue date; send, when
// nil, answers every SendStep with an email sent.
func (f *realFixture) run(t *testing.T, send func(context.Context, activities.SendInput) (activities.SendResult, error)) (*testsuite.TestWorkflowEnvironment, []sent, workflows.JourneyResult) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(time.Date(2026, 4, 6, 6, 0, 0, 0, time.UTC))
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: f.inv.WorkflowID})
	env.RegisterWorkflowWithOptions(workflows.InvoiceJourney, workflow.RegisterOptions{Name: workflows.InvoiceJourneyName})
	acts := &activities.Activities{DB: f.db, Day: 24 * time.Hour, Cases: &joinRecorder{}}
	env.RegisterActivity(acts)
	var mu sync.Mutex
	var calls []sent
	env.OnActivity(acts.SendStep, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.SendInput) (activities.SendResult, error) {
			res := activities.SendResult{Sent: true, InvoiceStatus: "open", OpenMinor: 10000,
				Outcomes: []activities.ChannelOutcome{{Channel: policy.ChannelEmail, State: "sent"}}}
			var err error
			if send != nil {
				res, err = send(ctx, in)
			}
			mu.Lock()
			calls = append(calls, sent{at: env.Now().UTC(), kind: in.Step.Kind, pos: in.Step.Position, res: res})
			mu.Unlock()
			return res, err
		})
	env.ExecuteWorkflow(workflows.InvoiceJourney, workflows.JourneyInput{
		AdministrationID: f.adm.ID, CustomerID: f.cust.ID, CustomerRef: f.cust.ExternalRef,
		InvoiceID: f.inv.ID, InvoiceNumber: f.inv.Number, OpenMinor: f.inv.OpenMinor, Currency: "EUR",
	})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res workflows.JourneyResult
	require.NoError(t, env.GetWorkflowResult(&res))
	sort.SliceStable(calls, func(i, j int) bool {
		if !calls[i].at.Equal(calls[j].at) {
			return calls[i].at.Before(calls[j].at)
		}
		return calls[i].pos < calls[j].pos
	})
	return env, calls, res
}

// at is where the planning activity puts a step due at t, the start of a
// send window: later in that window by the customer's spread
// (schedule.Spread, the same every day).
func (f *realFixture) at(t time.Time) time.Time {
	w := schedule.Window{Country: f.adm.Country, Location: amsterdam, StartHour: f.adm.SendWindowStart, EndHour: f.adm.SendWindowEnd}
	return schedule.Spread(t, w, fmt.Sprintf("customer:%d:%d", f.adm.ID, f.cust.ID))
}

func reachable() models.Customer {
	return models.Customer{Email: "c@example.com", Country: "NL", CustomerSendSettings: models.DefaultCustomerSendSettings()}
}

func TestJourneyStepsMoveOffWeekendsAndHolidays(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		f := newRealFixture(t, gdb, reachable(), []journeys.Step{
			{OffsetDays: journeys.OffsetAtIssue, Kind: policy.StepInvoice}, // Easter Monday 6 April
			{OffsetDays: 12, Kind: policy.StepReminder},                    // Saturday 2 May
			{OffsetDays: 35, Kind: policy.StepFinalReminder},               // Whit Monday 25 May
			{OffsetDays: 42, Kind: policy.StepCollection},                  // Monday 1 June
		})
		env, calls, res := f.run(t, nil)
		require.Equal(t, workflows.OutcomeCollection, res.Outcome)
		want := []sent{
			{at: f.at(local(4, 7, 9)), kind: policy.StepInvoice},        // after the Easter Monday holiday
			{at: f.at(local(5, 4, 9)), kind: policy.StepReminder},       // after the weekend
			{at: f.at(local(5, 26, 9)), kind: policy.StepFinalReminder}, // after the Whit Monday holiday
		}
		require.Len(t, calls, len(want))
		for i, w := range want {
			require.Equal(t, w.kind, calls[i].kind)
			require.True(t, w.at.Equal(calls[i].at), "%s: want %s, got %s", w.kind, w.at.In(amsterdam), calls[i].at.In(amsterdam))
		}
		// The state shows the moved dates as planned and as handled.
		v, err := env.QueryWorkflow(workflows.QueryState)
		require.NoError(t, err)
		var st workflows.JourneyState
		require.NoError(t, v.Get(&st))
		require.Equal(t, workflows.StageCollection, st.Stage)
		require.Len(t, st.Sent, 3)
		// The collection step, on an ordinary Monday (1 June), handed the
		// invoice over to its case instead of sending a notice itself.
		last := st.Steps[len(st.Steps)-1]
		require.Equal(t, policy.StepCollection, last.Kind)
		require.Equal(t, workflows.ReasonHandedOver, last.Reason)
		require.True(t, f.at(local(6, 1, 9)).Equal(*last.HandledAt), "handed over at %s", last.HandledAt)
		require.True(t, f.at(local(5, 4, 9)).Equal(st.Sent[1].At))
		require.Equal(t, "Own", st.JourneyName)
	})
}

func TestJourneyCustomerWithoutChannelIsSkippedWithReason(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		// No email, no postal address, SMS off for the administration: nothing can reach this customer.
		f := newRealFixture(t, gdb, models.Customer{Country: "NL", CustomerSendSettings: models.DefaultCustomerSendSettings()}, nil)
		acts := &activities.Activities{DB: gdb, Day: 24 * time.Hour, Cases: &joinRecorder{}}
		env, calls, res := f.run(t, acts.SendStep)
		// The hand-over to collection still happens; nothing was sent.
		require.Equal(t, workflows.OutcomeCollection, res.Outcome)
		require.Equal(t, 0, res.Sent)
		// Every step of the shipped default was tried on its day, none pushed by a gap.
		// The collection step joins the case instead of sending.
		require.Len(t, calls, len(journeys.Default())-1)
		require.True(t, f.at(local(4, 7, 9)).Equal(calls[0].at))
		require.True(t, f.at(local(5, 11, 9)).Equal(calls[len(calls)-1].at), "the SMS with the final reminder, got %s", calls[len(calls)-1].at.In(amsterdam))
		for _, c := range calls {
			require.True(t, c.res.Skipped, "%s", c.kind)
			want := string(policy.ReasonNoChannel)
			if c.kind == policy.StepSMS {
				want = string(policy.ReasonSMSDisabledForAdministration)
			}
			require.Equal(t, want, c.res.Reason, "%s", c.kind)
		}
		v, err := env.QueryWorkflow(workflows.QueryState)
		require.NoError(t, err)
		var st workflows.JourneyState
		require.NoError(t, v.Get(&st))
		require.Empty(t, st.Sent)
		require.Equal(t, 0, st.SentCount)
		for _, s := range st.Steps {
			require.Equal(t, workflows.StepSkipped, s.Status)
			require.NotEmpty(t, s.Reason)
		}
		// The timeline has a skipped row per refused channel, and the invoice asks for attention.
		var rows []models.Message
		require.NoError(t, gdb.Where("workflow_id = ?", f.inv.WorkflowID).Find(&rows).Error)
		require.NotEmpty(t, rows)
		for _, m := range rows {
			require.Equal(t, models.MessageSkipped, m.State, "%s %s", m.Kind, m.Channel)
			require.NotEmpty(t, m.Reason)
		}
		var inv models.Invoice
		require.NoError(t, gdb.First(&inv, f.inv.ID).Error)
		// The last slot is the final reminder and its SMS, sent together:
		// the reason of either is the invoice's (the collection step hands
		// over to the case and sends nothing).
		require.Contains(t, []string{string(policy.ReasonNoChannel), string(policy.ReasonSMSDisabledForAdministration)}, inv.AttentionReason)
	})
}
