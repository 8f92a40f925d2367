package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/metrics"
	"github.com/relance/relance/models"
	"github.com/relance/relance/render"
	"github.com/relance/relance/workflows"
)

// StartOptions are the start options of an invoice's journey: a readable ID,
// reject-duplicate so that an import run twice starts nothing twice, the
// search attributes, and a summary that makes the UI's list read like a ledger.
func StartOptions(adm *models.Administration, cust *models.Customer, inv *models.Invoice) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       workflows.InvoiceWorkflowID(adm.ID, inv.Number),
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		// Without it the SDK answers a running duplicate with that run, and
		// StartJourney could not tell a start from a no-op.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrAdministration.ValueSet(workflows.AdministrationKey(adm.ID)),
			workflows.AttrCustomer.ValueSet(cust.ExternalRef),
			workflows.AttrInvoice.ValueSet(inv.Number),
			workflows.AttrStage.ValueSet(string(workflows.StageScheduled)),
			workflows.AttrPaused.ValueSet(false),
		),
		StaticSummary: Summary(adm, cust, inv),
		StaticDetails: fmt.Sprintf("Administration **%s** (%d) · customer **%s** (%s) · invoice **%s** issued %s, due %s",
			adm.Name, adm.ID, cust.Name, cust.ExternalRef, inv.Number,
			inv.IssueDate.Format("2006-01-02"), inv.DueDate.Format("2006-01-02")),
	}
}

// Summary is the one-line ledger entry shown in the Temporal UI's list.
func Summary(adm *models.Administration, cust *models.Customer, inv *models.Invoice) string {
	amount := render.FormatMoney(render.Money{Minor: inv.OpenMinor, Currency: inv.Currency}, "en")
	return fmt.Sprintf("%s · %s · %s open, due %s", inv.Number, cust.Name, amount, inv.DueDate.Format("2006-01-02"))
}

// StartJourney starts the invoice's journey. A journey that already exists
// (running or ended) is not started again: the call is then a no-op.
func (s *Service) StartJourney(ctx context.Context, adm *models.Administration, cust *models.Customer, inv *models.Invoice) (started bool, err error) {
	in := workflows.JourneyInput{
		AdministrationID: adm.ID, CustomerID: cust.ID, CustomerRef: cust.ExternalRef,
		InvoiceID: inv.ID, InvoiceNumber: inv.Number, OpenMinor: inv.OpenMinor, Currency: inv.Currency,
	}
	_, err = s.temporal.ExecuteWorkflow(ctx, StartOptions(adm, cust, inv), workflows.InvoiceJourneyName, in)
	var exists *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &exists) {
		metrics.JourneyStarted(metrics.StartDuplicate)
		return false, nil
	}
	if err != nil {
		metrics.JourneyStarted(metrics.StartError)
	}
	if temporalUnavailable(err) {
		return false, fmt.Errorf("start journey of invoice %s: %w: %w", inv.Number, domain.ErrUnavailable, err)
	}
	if err != nil {
		return false, fmt.Errorf("start journey of invoice %s: %w", inv.Number, err)
	}
	metrics.JourneyStarted(metrics.StartStarted)
	return true, nil
}

// Signal sends a signal to an invoice's journey; a journey that has ended
// answers ErrJourneyEnded, a Temporal service that does not answer
// ErrUnavailable.
func (s *Service) Signal(ctx context.Context, workflowID, name string, payload any) error {
	err := s.temporal.SignalWorkflow(ctx, workflowID, "", name, payload)
	if err == nil {
		metrics.JourneySignaled(name, metrics.SignalOK)
		return nil
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) || strings.Contains(err.Error(), "workflow execution already completed") {
		metrics.JourneySignaled(name, metrics.SignalNotRunning)
		return fmt.Errorf("signal %s to %s: %w", name, workflowID, ErrJourneyEnded)
	}
	metrics.JourneySignaled(name, metrics.SignalError)
	if temporalUnavailable(err) {
		return fmt.Errorf("signal %s to %s: %w: %w", name, workflowID, ErrUnavailable, err)
	}
	return fmt.Errorf("signal %s to %s: %w", name, workflowID, err)
}

// JourneyState queries a journey's state; ok is false when the journey cannot be
// queried (it has not started, or its history is gone).
func (s *Service) JourneyState(ctx context.Context, workflowID string) (workflows.JourneyState, error) {
	var st workflows.JourneyState
	v, err := s.temporal.QueryWorkflow(ctx, workflowID, "", workflows.QueryState)
	if err != nil {
		return st, fmt.Errorf("query state of %s: %w", workflowID, err)
	}
	if err := v.Get(&st); err != nil {
		return st, fmt.Errorf("decode state of %s: %w", workflowID, err)
	}
	return st, nil
}
