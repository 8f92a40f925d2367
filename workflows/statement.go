package workflows

import (
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/policy"
)

const (
	// CustomerStatementName is the registered name of CustomerStatement:
	// one statement asked for through the API.
	CustomerStatementName = "CustomerStatement"
	// StatementRunName is the registered name of StatementRun: the
	// scheduled statements of one administration.
	StatementRunName = "StatementRun"
)

// The statement schedules (the administration's statement_schedule).
const (
	StatementMonthly = "monthly"
	StatementWeekly  = "weekly"
)

// StatementScheduleID names the Schedule of an administration's statements.
func StatementScheduleID(administrationID int64) string {
	return fmt.Sprintf("statements:%d", administrationID)
}

// StatementRequestWorkflowID names the workflow of one statement asked for
// through the API; request is unique per request.
func StatementRequestWorkflowID(administrationID, customerID int64, request string) string {
	return fmt.Sprintf("statement:%d:%d:%s", administrationID, customerID, request)
}

// StatementPeriod is the period a scheduled statement belongs to, in the
// administration's time zone: "2026-12" for a monthly schedule, the ISO
// week "2026-W49" for a weekly one. The outbox key of a customer's
// statement carries it, so one period sends one statement.
func StatementPeriod(schedule string, t time.Time) string {
	if schedule == StatementWeekly {
		y, w := t.ISOWeek()
		return fmt.Sprintf("%d-W%02d", y, w)
	}
	return t.Format("2006-01")
}

// StatementRequestInput is one statement asked for through the API.
type StatementRequestInput struct {
	AdministrationID int64          `json:"administration_id"`
	CustomerID       int64          `json:"customer_id"`
	Key              string         `json:"key"`
	Channel          policy.Channel `json:"channel,omitempty"`
}

// CustomerStatement sends one customer its statement: a workflow of one
// activity, so that the send is retried with backoff like every message
// and is seen in the Temporal UI.
func CustomerStatement(ctx workflow.Context, in StatementRequestInput) (activities.StatementResult, error) {
	var res activities.StatementResult
	err := workflow.ExecuteActivity(sendContext(ctx, policy.StepStatement), a.SendStatement, activities.StatementInput{
		WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, AdministrationID: in.AdministrationID,
		CustomerID: in.CustomerID, Key: in.Key, Channel: in.Channel,
	}).Get(ctx, &res)
	return res, err
}

// StatementRunInput is one administration's scheduled statements. The
// Schedule gives the first three fields; Period and the rest are carried
// over continue-as-new.
type StatementRunInput struct {
	AdministrationID int64  `json:"administration_id"`
	Schedule         string `json:"schedule"`
	// TimeZone is the administration's (IANA); the period is its date.
	TimeZone string `json:"time_zone,omitempty"`
	// Period is fixed by the first run of a pass (from its start time) and
	// kept by its continuations.
	Period  string `json:"period,omitempty"`
	AfterID int64  `json:"after_id,omitempty"`
	// PageSize customers are sent at once; a run continues as new after
	// RunLimit customers (0: the defaults), so a big book never makes a
	// big history.
	PageSize int                `json:"page_size,omitempty"`
	RunLimit int                `json:"run_limit,omitempty"`
	Done     StatementRunResult `json:"done"`
}

// StatementRunResult counts a pass's customers.
type StatementRunResult struct {
	Period    string `json:"period"`
	Customers int    `json:"customers"`
	Sent      int    `json:"sent"`
	Skipped   int    `json:"skipped"`
	Failed    int    `json:"failed"`
	// Runs is the number of runs (continue-as-new) the pass took.
	Runs int `json:"runs"`
}

// Defaults of StatementRun.
const (
	statementPageSize = 50
	statementRunLimit = 1000
)

var statementListOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
		NonRetryableErrorTypes: []string{activities.ErrTypePermanent},
	},
}

// StatementRun sends every customer of an administration that has open
// items its statement for the period (docs/domain.md §1.6). A Temporal
// Schedule per administration (StatementScheduleID) starts it; ops see,
// pause and trigger it in the UI's Schedules page. It pages through the
// customers by ID (references, never payloads), sends a page at once, and
// continues as new after RunLimit customers. Each statement's outbox key is
// (customer, period): a retried activity, a worker killed mid-run, or the
// pass triggered again in the same period sends nothing twice.
func StatementRun(ctx workflow.Context, in StatementRunInput) (StatementRunResult, error) {
	logger := workflow.GetLogger(ctx)
	if in.AdministrationID <= 0 {
		return StatementRunResult{}, temporal.NewNonRetryableApplicationError("no administration", activities.ErrTypePermanent, nil)
	}
	if in.Period == "" {
		var period string
		start := workflow.GetInfo(ctx).WorkflowStartTime
		// The time zone database is read once and recorded, so a replay
		// never depends on the worker's copy of it.
		if err := workflow.SideEffect(ctx, func(workflow.Context) any {
			t := start
			if loc, err := time.LoadLocation(in.TimeZone); err == nil && in.TimeZone != "" {
				t = t.In(loc)
			}
			return StatementPeriod(in.Schedule, t)
		}).Get(&period); err != nil {
			return StatementRunResult{}, err
		}
		in.Period = period
	}
	done := in.Done
	done.Period = in.Period
	done.Runs++
	pageSize, runLimit := in.PageSize, in.RunLimit
	if pageSize <= 0 {
		pageSize = statementPageSize
	}
	if runLimit <= 0 {
		runLimit = statementRunLimit
	}
	listCtx := workflow.WithActivityOptions(ctx, statementListOptions)
	sendCtx := sendContext(ctx, policy.StepStatement)
	wfID := workflow.GetInfo(ctx).WorkflowExecution.ID
	inRun := 0
	for {
		var page activities.StatementCustomersResult
		if err := workflow.ExecuteActivity(listCtx, a.StatementCustomers, activities.StatementCustomersInput{
			AdministrationID: in.AdministrationID, AfterID: in.AfterID, Limit: pageSize,
		}).Get(ctx, &page); err != nil {
			return done, err
		}
		if len(page.CustomerIDs) == 0 {
			logger.Info("statements sent", "period", done.Period, "customers", done.Customers, "sent", done.Sent,
				"skipped", done.Skipped, "failed", done.Failed)
			return done, nil
		}
		futures := make([]workflow.Future, len(page.CustomerIDs))
		for i, id := range page.CustomerIDs {
			futures[i] = workflow.ExecuteActivity(sendCtx, a.SendStatement, activities.StatementInput{
				WorkflowID: wfID, AdministrationID: in.AdministrationID, CustomerID: id,
				Key: activities.StatementKey(id, in.Period),
			})
		}
		for i, f := range futures {
			var r activities.StatementResult
			err := f.Get(ctx, &r)
			done.Customers++
			switch {
			case err != nil:
				// A statement that failed for good (a day of retries, or a
				// permanent error) does not stop the others.
				logger.Warn("statement failed", "customer_id", page.CustomerIDs[i], "error", err)
				done.Failed++
			case r.Sent:
				done.Sent++
			default:
				done.Skipped++
			}
		}
		in.AfterID = page.CustomerIDs[len(page.CustomerIDs)-1]
		inRun += len(page.CustomerIDs)
		if inRun >= runLimit || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			in.Done = done
			return done, workflow.NewContinueAsNewError(ctx, StatementRunName, in)
		}
	}
}

// StatementScheduleOptions is the Schedule of an administration's
// statements: at 08:00 in its time zone, on day (1–28) of every month, or
// on weekday day (1 Monday – 7 Sunday) of every week. A pass still running
// when the next is due makes it skip (it would send nothing new anyway).
func StatementScheduleOptions(administrationID int64, schedule string, day int, timeZone string) (client.ScheduleOptions, error) {
	cal := client.ScheduleCalendarSpec{Hour: []client.ScheduleRange{{Start: 8}}}
	switch {
	case schedule == StatementMonthly && day >= 1 && day <= 28:
		cal.DayOfMonth = []client.ScheduleRange{{Start: day}}
	case schedule == StatementWeekly && day >= 1 && day <= 7:
		cal.DayOfWeek = []client.ScheduleRange{{Start: day % 7}} // Temporal counts from Sunday = 0
	default:
		return client.ScheduleOptions{}, fmt.Errorf("statement schedule %q on day %d: %w", schedule, day, errBadSchedule)
	}
	return client.ScheduleOptions{
		ID:      StatementScheduleID(administrationID),
		Spec:    client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{cal}, TimeZoneName: timeZone},
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		Action: &client.ScheduleWorkflowAction{
			ID:        StatementScheduleID(administrationID),
			Workflow:  StatementRunName,
			Args:      []any{StatementRunInput{AdministrationID: administrationID, Schedule: schedule, TimeZone: timeZone}},
			TaskQueue: TaskQueue,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				AttrAdministration.ValueSet(AdministrationKey(administrationID)),
			),
			StaticSummary: fmt.Sprintf("Statements of administration %d (%s)", administrationID, schedule),
		},
		Note: fmt.Sprintf("Open-items statements of administration %d, %s on day %d at 08:00 %s.", administrationID, schedule, day, timeZone),
	}, nil
}

var errBadSchedule = errors.New("monthly takes a day 1-28, weekly a day 1 (Monday) - 7 (Sunday)")
