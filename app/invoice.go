package app

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/relance/relance/models"
)

// CreateInvoice stores an open invoice and starts its journey. The row is
// committed before the start (the journey's first activity reads it); if
// the start fails the row is removed again, so nothing is left half-made.
func (s *Service) CreateInvoice(ctx context.Context, adm *models.Administration, cust *models.Customer, inv *models.Invoice) error {
	inv.AdministrationID, inv.CustomerID = adm.ID, cust.ID
	inv.Status = models.InvoiceOpen
	inv.Stage = "scheduled"
	inv.WorkflowID = StartOptions(adm, cust, inv).ID
	if err := s.db.WithContext(ctx).Create(inv).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return fmt.Errorf("invoice number %q already exists in administration %d: %w", inv.Number, adm.ID, ErrDuplicate)
		}
		return fmt.Errorf("store invoice %s: %w", inv.Number, err)
	}
	if _, err := s.StartJourney(ctx, adm, cust, inv); err != nil {
		cleanup := s.db.WithContext(context.WithoutCancel(ctx)).Delete(&models.Invoice{}, inv.ID).Error
		return errors.Join(err, cleanup)
	}
	return nil
}
