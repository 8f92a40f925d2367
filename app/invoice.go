package app

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
	"github.com/relance/relance/workflows"
)

// CreateInvoice stores an open invoice and starts its journey. The row is
// committed before the start (the journey's first activity reads it); if
// the start fails (Temporal down) the row is removed again and the error
// wraps ErrUnavailable: the API answers 503 and nothing is written, so the
// caller repeats the request. (An import, which cannot ask its file to be
// repeated row by row, keeps its rows and leaves their journeys to the
// reconciler; the reconciler leaves rows younger than ReconcileGrace alone,
// so it never starts a journey for a row this removes.)
func (s *Service) CreateInvoice(ctx context.Context, adm *models.Administration, cust *models.Customer, inv *models.Invoice) error {
	inv.AdministrationID, inv.CustomerID = adm.ID, cust.ID
	inv.Status = models.InvoiceOpen
	inv.Stage = "scheduled"
	inv.JourneyCycle, inv.JourneyStarted = 1, false
	inv.WorkflowID = workflows.InvoiceWorkflowID(adm.ID, inv.Number)
	if err := s.db.WithContext(ctx).Create(inv).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return fmt.Errorf("invoice number %q already exists in administration %d: %w", inv.Number, adm.ID, domain.ErrDuplicate)
		}
		return fmt.Errorf("store invoice %s: %w", inv.Number, err)
	}
	// The mark that the journey runs is written after the answer: the
	// reconciler covers a mark that never comes (see startJourney).
	if _, err := s.startJourney(ctx, adm, cust, inv, true); err != nil {
		cleanup := s.db.WithContext(context.WithoutCancel(ctx)).Delete(&models.Invoice{}, inv.ID).Error
		if cleanup != nil {
			cleanup = fmt.Errorf("remove invoice %s again: %w", inv.Number, cleanup)
		}
		if !errors.Is(err, domain.ErrUnavailable) {
			err = fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
		}
		return errors.Join(err, cleanup)
	}
	return nil
}
