package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/relance/relance/models"
	"github.com/relance/relance/workflows"
)

// ErrRefused is returned when the journey refused a pause, resume or
// dispute (its Update's validator): the change would be ignored, e.g. a
// pause until a past date or a resume of a journey that is not paused.
// Nothing was written anywhere.
var ErrRefused = errors.New("refused by the journey")

// steerTimeout bounds a steering Update: the journey answers once it has
// written the change on the invoice.
const steerTimeout = 30 * time.Second

// PauseInvoice pauses the invoice's journey until a date (nil: until
// resumed). The journey's pause-journey Update refuses what it would
// ignore before anything is written; once accepted, the journey records
// the pause on the invoice row itself and only then answers, so the row
// and the workflow never disagree (a failed write is retried by the
// journey, not lost). inv is reloaded.
func (s *Service) PauseInvoice(ctx context.Context, inv *models.Invoice, until *time.Time, reason string) error {
	if inv.Status != models.InvoiceOpen {
		return fmt.Errorf("invoice %s is %s: %w", inv.Number, inv.Status, ErrInvoiceClosed)
	}
	return s.steer(ctx, inv, workflows.UpdatePause, workflows.PauseRequest{Until: until, Reason: reason})
}

// ResumeInvoice ends the pause of the invoice's journey (resume-journey Update).
func (s *Service) ResumeInvoice(ctx context.Context, inv *models.Invoice, reason string) error {
	if inv.Status != models.InvoiceOpen {
		return fmt.Errorf("invoice %s is %s: %w", inv.Number, inv.Status, ErrInvoiceClosed)
	}
	return s.steer(ctx, inv, workflows.UpdateResume, workflows.ResumeRequest{Reason: reason})
}

// steer runs a steering Update to completion and reloads inv, which the
// journey has written. A refusal wraps ErrRefused, a journey that is not
// running ErrJourneyEnded, Temporal down ErrUnreachable (the journey may
// still apply and record the change: the call may be repeated).
func (s *Service) steer(ctx context.Context, inv *models.Invoice, update string, arg any) error {
	if inv.WorkflowID == "" {
		return fmt.Errorf("invoice %s has no journey: %w", inv.Number, ErrJourneyEnded)
	}
	uctx, cancel := context.WithTimeout(ctx, steerTimeout)
	defer cancel()
	h, err := s.temporal.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
		WorkflowID: inv.WorkflowID, UpdateName: update, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var res workflows.SteeringResult
	if err == nil {
		err = h.Get(uctx, &res)
	}
	switch {
	case err == nil:
	case workflows.IsRefused(err):
		return fmt.Errorf("%s of invoice %s: %w: %w", update, inv.Number, ErrRefused, err)
	case journeyEnded(err):
		return fmt.Errorf("%s of invoice %s: %w", update, inv.Number, ErrJourneyEnded)
	default:
		return fmt.Errorf("%s of invoice %s: %w: %w", update, inv.Number, ErrUnreachable, err)
	}
	s.log.Info("journey steered", "invoice_id", inv.ID, "workflow_id", inv.WorkflowID, "update", update,
		"paused", res.Paused, "disputed", res.Disputed)
	var fresh models.Invoice
	if err := s.db.WithContext(ctx).First(&fresh, inv.ID).Error; err != nil {
		return fmt.Errorf("reload invoice %s: %w", inv.Number, err)
	}
	*inv = fresh
	return nil
}
