package workflows

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/relance/relance/activities"
)

// CaseStarter joins invoices to case workflows with signal-with-start: the
// case's workflow is started by its first invoice and signalled by the
// later ones, in one call that cannot start it twice. The worker gives it to
// the activities (activities.CaseStarter).
type CaseStarter struct {
	Client client.Client
}

// CaseStartOptions are the start options of a case's workflow: its readable
// ID, the search attributes that find it in the UI (administration,
// customer, stage, paused) and a summary.
func CaseStartOptions(j activities.CaseJoin) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       CaseWorkflowID(j.AdministrationID, j.CaseID),
		TaskQueue:                TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			AttrAdministration.ValueSet(AdministrationKey(j.AdministrationID)),
			AttrCustomer.ValueSet(j.CustomerRef),
			AttrStage.ValueSet(string(CaseStageOpen)),
			AttrPaused.ValueSet(false),
		),
		StaticSummary: j.Summary,
	}
}

// JoinCase signals the case that the invoice joined, starting the case's
// workflow when it is not running.
func (s CaseStarter) JoinCase(ctx context.Context, j activities.CaseJoin) (string, error) {
	if s.Client == nil {
		return "", fmt.Errorf("no Temporal client to start case %d", j.CaseID)
	}
	opts := CaseStartOptions(j)
	in := CaseInput{AdministrationID: j.AdministrationID, CustomerID: j.CustomerID, CustomerRef: j.CustomerRef, CaseID: j.CaseID, Currency: j.Currency}
	sig := CaseInvoiceJoinedSignal{InvoiceID: j.InvoiceID, Number: j.InvoiceNumber, OpenMinor: j.OpenMinor}
	if _, err := s.Client.SignalWithStartWorkflow(ctx, opts.ID, SignalCaseInvoiceJoined, sig, opts, CollectionCaseName, in); err != nil {
		return "", fmt.Errorf("signal-with-start case %s: %w", opts.ID, err)
	}
	return opts.ID, nil
}
