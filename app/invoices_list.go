package app

import (
	"time"

	"gorm.io/gorm"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
)

// invoicesQuery is the query of an administration's invoices matching f,
// unordered and unpaginated: the caller pages it by ID.
func invoicesQuery(db *gorm.DB, administrationID int64, f domain.InvoiceFilter) *gorm.DB {
	q := db.Model(&models.Invoice{}).Where("administration_id = ?", administrationID)
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Stage != "" {
		q = q.Where("stage = ?", f.Stage)
	}
	if f.CustomerID > 0 {
		q = q.Where("customer_id = ?", f.CustomerID)
	}
	// Due dates are calendar dates at 00:00 UTC: due yesterday is overdue today.
	today := f.Now.UTC().Truncate(24 * time.Hour)
	q = whereIf(q, f.Overdue, "(status = ? AND open_minor > 0 AND due_date < ?)", models.InvoiceOpen, today)
	q = whereIf(q, f.Paused, "(paused_at IS NOT NULL AND (paused_until IS NULL OR paused_until > ?))", f.Now)
	if f.Disputed != nil {
		q = q.Where("disputed = ?", *f.Disputed)
	}
	return q
}
