package app

import (
	"time"

	"gorm.io/gorm"

	"github.com/relance/relance/models"
)

// InvoiceFilter selects invoices for the admin list; zero values do not filter.
type InvoiceFilter struct {
	Status     models.InvoiceStatus
	Stage      string
	CustomerID int64
	// Overdue: true lists open invoices whose due date is before today, false the others.
	Overdue *bool
	// Paused: true lists invoices whose pause still holds, false the others.
	Paused *bool
	// Disputed: true lists disputed invoices, false the others.
	Disputed *bool
	// Now is the clock: it decides "today" (UTC) and whether a pause still holds.
	Now time.Time
}

// invoicesQuery is the query of an administration's invoices matching f,
// unordered and unpaginated: the caller pages it by ID.
func invoicesQuery(db *gorm.DB, administrationID int64, f InvoiceFilter) *gorm.DB {
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
