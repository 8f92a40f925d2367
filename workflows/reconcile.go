package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/relance/relance/activities"
)

// ReconcileJourneys is one pass of the journey reconciler: it starts the
// journeys of open invoices that have none (Temporal was down when they
// were imported, a start failed, an import reopened them). A Temporal
// Schedule (ReconcileScheduleID, created by every worker at start) runs it
// every few minutes. A Schedule rather than a long-running workflow with
// timers: each pass is a short workflow with a short history, so there is
// no continue-as-new and no version gate to carry for ever; the server
// keeps the timing across worker restarts, the overlap policy skips a pass
// while one runs, and ops see, pause or trigger it in the UI's Schedules
// page (`temporal schedule trigger --schedule-id relance-reconcile-journeys`).
func ReconcileJourneys(ctx workflow.Context, in activities.ReconcileInput) (activities.ReconcileResult, error) {
	opts := workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 3,
			NonRetryableErrorTypes: []string{activities.ErrTypePermanent},
		},
	}
	var res activities.ReconcileResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.ReconcileJourneys, in).Get(ctx, &res)
	return res, err
}
