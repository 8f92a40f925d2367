package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
	"github.com/relance/relance/workflows"
)

// lockOpenInvoice re-reads an invoice under a row lock (PostgreSQL; SQLite
// serialises writers anyway) and checks it is still open, so that two
// concurrent payments or a payment and a credit cannot both take the same
// open amount.
func lockOpenInvoice(tx *gorm.DB, id int64) (*models.Invoice, error) {
	var inv models.Invoice
	if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&inv, id).Error; err != nil {
		return nil, fmt.Errorf("lock invoice %d: %w", id, err)
	}
	if inv.Status != models.InvoiceOpen || inv.OpenMinor <= 0 {
		return &inv, fmt.Errorf("invoice %s is %s: %w", inv.Number, inv.Status, domain.ErrInvoiceClosed)
	}
	return &inv, nil
}

// RegisterPayment records a payment and lowers the invoice's open amount in
// one transaction; a payment of the whole open amount marks the invoice paid.
// Then the journey gets invoice-updated: a partial payment changes the
// amounts the next messages show, a full one ends the journey (docs/domain.md
// §1.4). Nothing is written when the payment breaks a rule. A failed signal
// is logged by the caller, not undone: see PaymentResult.Signalled.
func (s *Service) RegisterPayment(ctx context.Context, invoiceID int64, in domain.PaymentInput) (domain.PaymentResult, error) {
	var res domain.PaymentResult
	in.Currency = strings.ToUpper(strings.TrimSpace(in.Currency))
	in.Reference = strings.TrimSpace(in.Reference)
	if in.AmountMinor <= 0 {
		return res, fmt.Errorf("%w: %d is not a positive amount", domain.ErrPaymentAmount, in.AmountMinor)
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		inv, err := lockOpenInvoice(tx, invoiceID)
		if err != nil {
			return err
		}
		if in.Currency != inv.Currency {
			return fmt.Errorf("%w: invoice %s is in %s, the payment in %s", domain.ErrPaymentCurrency, inv.Number, inv.Currency, in.Currency)
		}
		if in.AmountMinor > inv.OpenMinor {
			return fmt.Errorf("%w: %d is more than the open amount %d of invoice %s", domain.ErrPaymentAmount, in.AmountMinor, inv.OpenMinor, inv.Number)
		}
		if in.Reference != "" {
			var n int64
			if err := tx.Model(&models.Payment{}).Where("invoice_id = ? AND reference = ?", inv.ID, in.Reference).Count(&n).Error; err != nil {
				return fmt.Errorf("look up payment reference: %w", err)
			}
			if n > 0 {
				return fmt.Errorf("%w: reference %q on invoice %s", domain.ErrDuplicatePayment, in.Reference, inv.Number)
			}
		}
		res.Payment = models.Payment{InvoiceID: inv.ID, AmountMinor: in.AmountMinor, Currency: in.Currency, PaidAt: in.PaidAt.UTC(), Reference: in.Reference}
		if err := tx.Create(&res.Payment).Error; err != nil {
			return fmt.Errorf("store payment on invoice %s: %w", inv.Number, err)
		}
		upd := map[string]any{"open_minor": inv.OpenMinor - in.AmountMinor}
		if inv.OpenMinor == in.AmountMinor {
			upd["status"], upd["stage"] = models.InvoicePaid, string(workflows.StagePaid)
		}
		if err := tx.Model(&models.Invoice{}).Where("id = ?", inv.ID).Updates(upd).Error; err != nil {
			return fmt.Errorf("lower open amount of invoice %s: %w", inv.Number, err)
		}
		if _, err = bumpRevision(tx, inv.ID); err != nil {
			return err
		}
		// Read back: the answer shows the stored row (updated_at included).
		if err := tx.First(&res.Invoice, inv.ID).Error; err != nil {
			return fmt.Errorf("read invoice %s back: %w", inv.Number, err)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	return res, s.signalUpdated(ctx, &res.Invoice, &res.Signalled)
}

// CreditInvoice credits the whole open amount (a credit note): the invoice
// is credited, its open amount 0, and its journey ends. The bool says
// whether the journey was told (see PaymentResult.Signalled).
func (s *Service) CreditInvoice(ctx context.Context, invoiceID int64) (models.Invoice, bool, error) {
	var out models.Invoice
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		inv, err := lockOpenInvoice(tx, invoiceID)
		if err != nil {
			return err
		}
		upd := map[string]any{"open_minor": int64(0), "status": models.InvoiceCredited, "stage": string(workflows.StageCredited)}
		if err := tx.Model(&models.Invoice{}).Where("id = ?", inv.ID).Updates(upd).Error; err != nil {
			return fmt.Errorf("credit invoice %s: %w", inv.Number, err)
		}
		if _, err = bumpRevision(tx, inv.ID); err != nil {
			return err
		}
		if err := tx.First(&out, inv.ID).Error; err != nil {
			return fmt.Errorf("read invoice %s back: %w", inv.Number, err)
		}
		return nil
	})
	if err != nil {
		return out, false, err
	}
	var signalled bool
	return out, signalled, s.signalUpdated(ctx, &out, &signalled)
}

// signalUpdated tells the journey the invoice's new open amount and status.
// A journey that has ended is fine (nothing left to steer); another failure
// is returned wrapped in ErrNotSignalled, after the database change.
func (s *Service) signalUpdated(ctx context.Context, inv *models.Invoice, signalled *bool) error {
	if inv.WorkflowID == "" {
		return nil
	}
	err := s.Signal(ctx, inv.WorkflowID, workflows.SignalInvoiceUpdated, updatedSignal(inv))
	switch {
	case err == nil:
		*signalled = true
		return nil
	case errors.Is(err, domain.ErrJourneyEnded):
		// Handed over: the invoice's collection case is told instead.
		ok, err := s.signalCase(ctx, inv)
		if err != nil {
			return fmt.Errorf("%w: %w", domain.ErrNotSignalled, err)
		}
		*signalled = ok
		return nil
	}
	return fmt.Errorf("%w: %w", domain.ErrNotSignalled, err)
}

// OpenDispute records a dispute on an open invoice and pauses its journey
// until it is resolved: the journey's open-dispute Update refuses a second
// dispute before anything is written, and the journey records the dispute
// on the invoice row before it answers. A journey that has ended answers
// ErrJourneyEnded; Temporal down, ErrUnreachable.
func (s *Service) OpenDispute(ctx context.Context, inv *models.Invoice, reason string) error {
	if inv.Status != models.InvoiceOpen {
		return fmt.Errorf("invoice %s is %s: %w", inv.Number, inv.Status, domain.ErrInvoiceClosed)
	}
	if inv.Disputed {
		return fmt.Errorf("invoice %s is already disputed: %w", inv.Number, domain.ErrDisputeState)
	}
	return s.steer(ctx, inv, workflows.UpdateDispute, workflows.DisputeRequest{Reason: reason})
}

// ResolveDispute closes an invoice's dispute; its journey resumes (unless a
// pause still holds it).
func (s *Service) ResolveDispute(ctx context.Context, inv *models.Invoice, reason string) error {
	if !inv.Disputed {
		return fmt.Errorf("invoice %s is not disputed: %w", inv.Number, domain.ErrDisputeState)
	}
	if inv.Status != models.InvoiceOpen {
		// The journey is over; only the row still says disputed.
		res := s.db.WithContext(ctx).Model(&models.Invoice{}).Where("id = ? AND disputed = ?", inv.ID, true).Update("disputed", false)
		if res.Error != nil {
			return fmt.Errorf("record dispute of invoice %s: %w", inv.Number, res.Error)
		}
		var fresh models.Invoice
		if err := s.db.WithContext(ctx).First(&fresh, inv.ID).Error; err != nil {
			return storeErr(err, "read invoice %s back", inv.Number)
		}
		*inv = fresh
		return nil
	}
	return s.steer(ctx, inv, workflows.UpdateResolveDispute, workflows.ResolveDisputeRequest{Reason: reason})
}

// bumpRevision counts one more change of the invoice's open amount or
// status, within tx: the row lock (SQLite's write lock) that tx holds orders
// the revisions as the changes are ordered. It returns the new revision.
func bumpRevision(tx *gorm.DB, invoiceID int64) (int64, error) {
	if err := tx.Model(&models.Invoice{}).Where("id = ?", invoiceID).
		UpdateColumn("revision", gorm.Expr("revision + 1")).Error; err != nil {
		return 0, fmt.Errorf("count the change of invoice %d: %w", invoiceID, err)
	}
	var rev int64
	if err := tx.Model(&models.Invoice{}).Where("id = ?", invoiceID).Select("revision").Scan(&rev).Error; err != nil {
		return 0, fmt.Errorf("read the revision of invoice %d: %w", invoiceID, err)
	}
	return rev, nil
}

// updatedSignal is the invoice-updated signal of inv's current state.
func updatedSignal(inv *models.Invoice) workflows.InvoiceUpdatedSignal {
	return workflows.InvoiceUpdatedSignal{OpenMinor: inv.OpenMinor, Status: string(inv.Status), Revision: inv.Revision}
}
