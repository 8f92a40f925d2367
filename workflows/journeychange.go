package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/relance/relance/activities"
)

// Defaults of a journey change's paging: a page is one activity that
// signals its journeys with a bounded concurrency; a run of the workflow
// handles a bounded number of pages, then continues as new, so that its
// history stays small whatever the size of the book (a page costs about
// six events: 100 pages, about 600).
const (
	DefaultChangePageSize    = 200
	DefaultChangePagesPerRun = 100
)

// JourneyChangeInput is the input of JourneyChange. Begun, After and the
// counts carry the progress across continue-as-new.
type JourneyChangeInput struct {
	Scope       activities.JourneyChangeScope `json:"scope"`
	PageSize    int                           `json:"page_size,omitempty"`
	PagesPerRun int                           `json:"pages_per_run,omitempty"`
	Begun       bool                          `json:"begun,omitempty"`
	After       int64                         `json:"after,omitempty"`
	Reached     int                           `json:"reached,omitempty"`
	Skipped     int                           `json:"skipped,omitempty"`
	Errors      int                           `json:"errors,omitempty"`
}

// JourneyChangeResult counts the journeys the change reached, those that
// had ended meanwhile, and those it could not reach.
type JourneyChangeResult struct {
	Reached int `json:"reached"`
	Skipped int `json:"skipped"`
	Errors  int `json:"errors"`
}

// JourneyChange is a journey-change operation (docs/operations.md): it
// pages over the running journeys that a changed journey (or a new default
// journey) concerns, by invoice ID (keyset pagination, so that invoices
// created or closed meanwhile never shift a page), signals each page's
// journeys journey-changed, and records the progress on the operation row
// that GET /api/v1/operations/{id} reads. A page that fails is retried;
// after a crash the workflow resumes at the page it was on. Continue-as-new
// every PagesPerRun pages bounds its history.
func JourneyChange(ctx workflow.Context, in JourneyChangeInput) (JourneyChangeResult, error) {
	size := in.PageSize
	if size <= 0 {
		size = DefaultChangePageSize
	}
	perRun := in.PagesPerRun
	if perRun <= 0 {
		perRun = DefaultChangePagesPerRun
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// A page of 200 signals takes a second or two; a Temporal or
		// database outage is waited out by the retries below.
		StartToCloseTimeout: 2 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 20,
			NonRetryableErrorTypes: []string{activities.ErrTypePermanent},
		},
	})
	fail := func(err error) (JourneyChangeResult, error) {
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		_ = workflow.ExecuteActivity(dctx, a.FailOperation, activities.OperationFailure{OperationID: in.Scope.OperationID, Error: err.Error()}).Get(dctx, nil)
		return JourneyChangeResult{Reached: in.Reached, Skipped: in.Skipped, Errors: in.Errors}, err
	}
	if !in.Begun {
		if err := workflow.ExecuteActivity(ctx, a.BeginJourneyChange, in.Scope).Get(ctx, nil); err != nil {
			return fail(err)
		}
		in.Begun = true
	}
	for range perRun {
		var page activities.JourneyChangePageResult
		err := workflow.ExecuteActivity(ctx, a.JourneyChangePage, activities.JourneyChangePageInput{
			Scope: in.Scope, Signal: SignalJourneyChanged, After: in.After, Size: size,
			Reached: in.Reached, Skipped: in.Skipped, Errors: in.Errors,
		}).Get(ctx, &page)
		if err != nil {
			return fail(err)
		}
		in.After = page.Last
		in.Reached += page.Reached
		in.Skipped += page.Skipped
		in.Errors += page.Errors
		if page.Done {
			return JourneyChangeResult{Reached: in.Reached, Skipped: in.Skipped, Errors: in.Errors}, nil
		}
	}
	return JourneyChangeResult{}, workflow.NewContinueAsNewError(ctx, JourneyChangeName, in)
}
