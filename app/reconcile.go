package app

import (
	"context"
	"fmt"
	"time"

	"github.com/relance/relance/models"
)

// ReconcileGrace is how old an invoice row must be before the reconciler
// starts its journey: CreateInvoice starts the journey itself (and removes
// the row when it cannot), an import starts its rows' journeys right after
// storing them; the reconciler only picks up what they could not start.
const ReconcileGrace = 2 * time.Minute

// ReconcileReport counts what one reconciliation pass did.
type ReconcileReport struct {
	// Found is the open invoices whose journey had not been started.
	Found int `json:"found"`
	// Started counts the journeys started; Running those found running
	// already (started, but the row was not marked).
	Started int `json:"started"`
	Running int `json:"running"`
	// Failed counts the starts that failed; the next pass tries again.
	Failed int `json:"failed"`
}

// ReconcileJourneys starts the journeys of open invoices that have none for
// their current cycle (JourneyStarted false): Temporal was down when they
// were imported, a start failed, or an import reopened them after their
// journey ended. At most limit invoices are handled per pass, oldest first.
// It runs from a Temporal Schedule (worker.EnsureReconcileSchedule).
func (s *Service) ReconcileJourneys(ctx context.Context, limit int) (ReconcileReport, error) {
	var rep ReconcileReport
	var invs []models.Invoice
	err := s.db.WithContext(ctx).
		Where("status = ? AND open_minor > 0 AND workflow_id <> '' AND journey_started = ? AND updated_at < ?",
			models.InvoiceOpen, false, s.Now().Add(-ReconcileGrace)).
		Order("id").Limit(limit).Find(&invs).Error
	if err != nil {
		return rep, fmt.Errorf("find invoices without a journey: %w", err)
	}
	rep.Found = len(invs)
	for i := range invs {
		inv := &invs[i]
		var adm models.Administration
		var cust models.Customer
		if err := s.db.WithContext(ctx).First(&adm, inv.AdministrationID).Error; err != nil {
			return rep, fmt.Errorf("load administration of invoice %d: %w", inv.ID, err)
		}
		if err := s.db.WithContext(ctx).First(&cust, inv.CustomerID).Error; err != nil {
			return rep, fmt.Errorf("load customer of invoice %d: %w", inv.ID, err)
		}
		started, err := s.StartJourney(ctx, &adm, &cust, inv)
		switch {
		case err != nil:
			rep.Failed++
			s.log.Error("reconciler could not start a journey", "invoice_id", inv.ID, "workflow_id", inv.WorkflowID,
				"cycle", inv.JourneyCycle, "error", err)
		case started:
			rep.Started++
			s.log.Info("reconciler started a journey", "invoice_id", inv.ID, "workflow_id", inv.WorkflowID, "cycle", inv.JourneyCycle)
		default:
			rep.Running++
		}
	}
	if rep.Found > 0 {
		s.log.Info("journeys reconciled", "found", rep.Found, "started", rep.Started, "running", rep.Running, "failed", rep.Failed)
	}
	return rep, nil
}

// NextJourneyCycle gives an open invoice whose journey has ended (an import
// reopened it after it was paid) a journey of the next cycle: the row's
// cycle goes up by one, not started, and the journey is started at once. If
// that start fails the reconciler starts it later. It reports whether a
// journey was started now. Two callers at once move the cycle once: the
// update is conditioned on the cycle read.
func (s *Service) NextJourneyCycle(ctx context.Context, inv *models.Invoice) (bool, error) {
	var cur models.Invoice
	if err := s.db.WithContext(ctx).First(&cur, inv.ID).Error; err != nil {
		return false, fmt.Errorf("reload invoice %s: %w", inv.Number, err)
	}
	if cur.Status != models.InvoiceOpen || cur.OpenMinor <= 0 {
		return false, nil
	}
	if cur.JourneyStarted {
		next := max(cur.JourneyCycle, 1) + 1
		res := s.db.WithContext(ctx).Model(&models.Invoice{}).Where("id = ? AND journey_cycle = ?", cur.ID, cur.JourneyCycle).
			Updates(map[string]any{"journey_cycle": next, "journey_started": false, "attention_reason": ""})
		if res.Error != nil {
			return false, fmt.Errorf("open journey cycle %d of invoice %s: %w", next, inv.Number, res.Error)
		}
		if res.RowsAffected == 0 {
			return false, nil // another caller moved it
		}
		cur.JourneyCycle, cur.JourneyStarted = next, false
	}
	var adm models.Administration
	var cust models.Customer
	if err := s.db.WithContext(ctx).First(&adm, cur.AdministrationID).Error; err != nil {
		return false, fmt.Errorf("load administration of invoice %s: %w", inv.Number, err)
	}
	if err := s.db.WithContext(ctx).First(&cust, cur.CustomerID).Error; err != nil {
		return false, fmt.Errorf("load customer of invoice %s: %w", inv.Number, err)
	}
	s.log.Info("invoice reopened after its journey ended: next journey cycle", "invoice_id", cur.ID, "cycle", cur.JourneyCycle)
	started, err := s.StartJourney(ctx, &adm, &cust, &cur)
	if err != nil {
		s.log.Warn("journey of the next cycle not started; the reconciler will start it", "invoice_id", cur.ID, "error", err)
		return false, nil
	}
	*inv = cur
	return started, nil
}
