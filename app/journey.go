package app

import (
	"context"
	"errors"
	"fmt"

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

// journeyEnded recognises, by its type, the answer of Temporal to a signal,
// update or query for a workflow that is not running (it ended, or never
// started): serviceerror.NotFound ("workflow execution already completed").
func journeyEnded(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// StartOptions are the start options of an invoice's journey: a readable ID,
// the search attributes, and a summary that makes the UI's list read like a
// ledger. Nothing more: every byte here is paid once per invoice at the
// start rate (BenchmarkJourneyStarts). The ID is the invoice's for every
// journey cycle: allow-duplicate lets a journey start again under it once the last one closed (it failed,
// or the invoice was reopened after its journey ended), and the conflict
// policy refuses a second one while one runs. That an import run twice
// starts nothing twice is the invoice row's doing (JourneyCycle and
// JourneyStarted), no longer the ID policy's.
func StartOptions(adm *models.Administration, cust *models.Customer, inv *models.Invoice) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       workflows.InvoiceWorkflowID(adm.ID, inv.Number),
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
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
		// The summary only: static details would repeat at every start
		// what the journey's current details already show (the ledger
		// line, the stage, the next step), in the start request, the
		// first history event and the database.
		StaticSummary: Summary(adm, cust, inv),
	}
}

// Summary is the one-line ledger entry shown in the Temporal UI's list.
func Summary(adm *models.Administration, cust *models.Customer, inv *models.Invoice) string {
	amount := render.FormatMoney(render.Money{Minor: inv.OpenMinor, Currency: inv.Currency}, "en")
	return fmt.Sprintf("%s · %s · %s open, due %s", inv.Number, cust.Name, amount, inv.DueDate.Format("2006-01-02"))
}

// StartJourney starts the journey of the invoice's current cycle and marks
// it started on the row (JourneyStarted). A journey that runs already is not
// started again: the call is then a no-op (started false) that marks it too.
// Callers start a journey only when the row says its cycle has none. An
// archived administration starts none (ErrArchived).
func (s *Service) StartJourney(ctx context.Context, adm *models.Administration, cust *models.Customer, inv *models.Invoice) (started bool, err error) {
	return s.startJourney(ctx, adm, cust, inv, false)
}

// startJourney is StartJourney; with markLater the row is marked after the
// call returns, off the caller's path (CreateInvoice: the API's answer need
// not wait for a second commit). A mark lost meanwhile (the process dies)
// is harmless: the reconciler finds the row, gets AlreadyStarted, and marks it.
func (s *Service) startJourney(ctx context.Context, adm *models.Administration, cust *models.Customer, inv *models.Invoice, markLater bool) (started bool, err error) {
	if adm.ArchivedAt != nil {
		return false, fmt.Errorf("start journey of invoice %s: administration %d: %w", inv.Number, adm.ID, domain.ErrArchived)
	}
	opts := StartOptions(adm, cust, inv)
	in := workflows.JourneyInput{
		AdministrationID: adm.ID, CustomerID: cust.ID, CustomerRef: cust.ExternalRef,
		InvoiceID: inv.ID, InvoiceNumber: inv.Number, OpenMinor: inv.OpenMinor, Currency: inv.Currency,
		Cycle: max(inv.JourneyCycle, 1), Summary: opts.StaticSummary,
	}
	_, err = s.temporal.ExecuteWorkflow(ctx, opts, workflows.InvoiceJourneyName, in)
	var exists *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &exists):
		metrics.JourneyStarted(metrics.StartDuplicate)
	case err != nil:
		metrics.JourneyStarted(metrics.StartError)
	default:
		metrics.JourneyStarted(metrics.StartStarted)
	}
	switch {
	case errors.As(err, &exists):
	case temporalUnavailable(err):
		return false, fmt.Errorf("start journey of invoice %s: %w: %w", inv.Number, domain.ErrUnavailable, err)
	case err != nil:
		return false, fmt.Errorf("start journey of invoice %s: %w", inv.Number, err)
	default:
		started = true
	}
	inv.JourneyStarted, inv.JourneyCycle = true, in.Cycle
	if s.db == nil {
		return started, nil // a Service without a database only starts (benchmarks)
	}
	if markLater {
		s.markLater(inv.ID, in.Cycle)
	} else {
		s.markStarted(context.WithoutCancel(ctx), in.Cycle, inv.ID)
	}
	return started, nil
}

// Signal sends a signal to an invoice's journey; a journey that has ended
// answers ErrJourneyEnded, a Temporal service that does not answer
// ErrUnavailable.
func (s *Service) Signal(ctx context.Context, workflowID, name string, payload any) error {
	if s.temporal == nil {
		return fmt.Errorf("signal %s to %s: %w: no Temporal client", name, workflowID, domain.ErrUnavailable)
	}
	err := s.temporal.SignalWorkflow(ctx, workflowID, "", name, payload)
	if err == nil {
		metrics.JourneySignaled(name, metrics.SignalOK)
		return nil
	}
	if journeyEnded(err) {
		metrics.JourneySignaled(name, metrics.SignalNotRunning)
		return fmt.Errorf("signal %s to %s: %w", name, workflowID, domain.ErrJourneyEnded)
	}
	metrics.JourneySignaled(name, metrics.SignalError)
	if temporalUnavailable(err) {
		return fmt.Errorf("signal %s to %s: %w: %w", name, workflowID, domain.ErrUnavailable, err)
	}
	return fmt.Errorf("signal %s to %s: %w", name, workflowID, err)
}

// JourneyState queries a journey's state; ok is false when the journey cannot be
// queried (it has not started, or its history is gone). The handled steps'
// message outcomes are the outbox rows' as they are now, after receipts and
// bounces (see overlayOutcomes); a Service without a database reports them
// as the workflow does.
func (s *Service) JourneyState(ctx context.Context, workflowID string) (workflows.JourneyState, error) {
	var st workflows.JourneyState
	v, err := s.temporal.QueryWorkflow(ctx, workflowID, "", workflows.QueryState)
	if err != nil {
		return st, fmt.Errorf("query state of %s: %w", workflowID, err)
	}
	if err := v.Get(&st); err != nil {
		return st, fmt.Errorf("decode state of %s: %w", workflowID, err)
	}
	if s.db != nil {
		if err := s.overlayOutcomes(ctx, workflowID, &st); err != nil {
			return st, err
		}
	}
	return st, nil
}
