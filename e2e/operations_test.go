package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/relance/relance/api"
	"github.com/relance/relance/app"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
)

// TestDefaultJourneyChangeOperation: changing the default journey of an
// administration with N running journeys answers 202 at once with an
// operation; the operation pages over the journeys (8 a page, 2 pages a
// run, so it continues as new several times), reaches every one of them,
// and completes; each journey has re-planned onto the new journey.
func TestDefaultJourneyChangeOperation(t *testing.T) {
	const n = 50
	s := newStack(t, testkit.Postgres(t), 24*time.Hour, withApp(func(o *app.Options) { o.ChangePageSize, o.ChangePagesPerRun = 8, 2 }))
	today := time.Now().UTC()
	ids := make([]int64, n)
	wfs := make([]string, n)
	for i := range n {
		var v api.InvoiceView
		// Issued in a week: each journey plans and sleeps, nothing is sent.
		status := s.call("POST", fmt.Sprintf("/api/v1/administrations/%d/invoices", s.adm.ID), map[string]any{
			"customer_id": s.cust.ID, "number": fmt.Sprintf("OP-%d-%d", today.UnixNano(), i),
			"issue_date": today.AddDate(0, 0, 7).Format("2006-01-02"), "due_date": today.AddDate(0, 0, 21).Format("2006-01-02"),
			"amount_minor": 10000 + i,
		}, &v)
		require.Equal(t, http.StatusCreated, status)
		ids[i], wfs[i] = v.ID, v.WorkflowID
	}
	var j api.JourneyView
	require.Equal(t, http.StatusCreated, s.call("POST", fmt.Sprintf("/api/v1/administrations/%d/journeys", s.adm.ID), map[string]any{
		"name": "Short", "steps": []any{
			map[string]any{"timing": "at_issue", "kind": "invoice"},
			map[string]any{"offset_days": 3, "kind": "reminder"}, map[string]any{"offset_days": 10, "kind": "collection"}},
	}, &j))

	var op api.OperationView
	status := s.call("PUT", fmt.Sprintf("/api/v1/administrations/%d/default-journey", s.adm.ID), map[string]any{"journey_id": j.ID}, &op)
	require.Equal(t, http.StatusAccepted, status)
	// The answer came before any journey was counted or told: the request
	// only stored the change and started the operation.
	require.Equal(t, models.OperationRunning, op.State)
	require.Zero(t, op.Reached)
	require.NotEmpty(t, op.WorkflowID)

	path := fmt.Sprintf("/api/v1/operations/%d", op.ID)
	require.Eventually(t, func() bool {
		require.Equal(t, http.StatusOK, s.call("GET", path, nil, &op))
		return op.State != models.OperationRunning
	}, testkit.Patience, 100*time.Millisecond)
	require.Equal(t, models.OperationCompleted, op.State, op.LastError)
	require.Equal(t, n, op.Total)
	require.Equal(t, n, op.Reached)
	require.Zero(t, op.Errors)
	require.NotNil(t, op.FinishedAt)

	// Every journey re-plans onto the new default.
	for i, id := range ids {
		require.Eventually(t, func() bool {
			v := s.invoice(id)
			return v.Journey != nil && v.Journey.JourneyName == "Short" && len(v.Journey.Steps) == 3
		}, testkit.Patience, 100*time.Millisecond, "journey %s", wfs[i])
	}

	// The workflow continued as new: 50 journeys at 8 a page are 7 pages,
	// at 2 pages a run 4 runs, the first three continued as new.
	// (Visibility follows the runs' closing shortly after.)
	var continued, completed int
	require.Eventually(t, func() bool {
		res, err := s.tc.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowId = %q", op.WorkflowID),
		})
		require.NoError(t, err)
		continued, completed = 0, 0
		for _, e := range res.GetExecutions() {
			switch e.GetStatus() {
			case enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
				continued++
			case enums.WORKFLOW_EXECUTION_STATUS_COMPLETED:
				completed++
			}
		}
		return continued == 3 && completed == 1
	}, testkit.Patience, 200*time.Millisecond, "runs: %d continued as new, %d completed", continued, completed)
}
