package app

import (
	"context"

	"gorm.io/gorm"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
)

// page runs q ordered by ID from p's cursor; id reads a row's ID.
func page[T any](q *gorm.DB, p domain.PageRequest, id func(T) int64) (domain.Page[T], error) {
	if p.Limit <= 0 {
		p.Limit = 50
	}
	if p.Cursor > 0 {
		q = q.Where("id > ?", p.Cursor)
	}
	var rows []T
	if err := q.Order("id").Limit(p.Limit + 1).Find(&rows).Error; err != nil {
		return domain.Page[T]{}, err
	}
	out := domain.Page[T]{Data: rows}
	if len(rows) > p.Limit {
		out.Data = rows[:p.Limit]
		out.Next = id(rows[p.Limit-1])
	}
	if out.Data == nil {
		out.Data = []T{}
	}
	return out, nil
}

// ofOrganization scopes a query on a table with administration_id to the
// administrations of organization org.
func (s *Service) ofOrganization(ctx context.Context, org int64) *gorm.DB {
	db := s.db.WithContext(ctx)
	return db.Where("administration_id IN (?)", db.Session(&gorm.Session{NewDB: true}).
		Model(&models.Administration{}).Select("id").Where("organization_id = ?", org))
}

// Administration loads an administration of organization org; another
// organization's is ErrNotFound.
func (s *Service) Administration(ctx context.Context, org, id int64) (*models.Administration, error) {
	var a models.Administration
	err := s.db.WithContext(ctx).Where("id = ? AND organization_id = ?", id, org).First(&a).Error
	return &a, storeErr(err, "administration %d", id)
}

// Administrations lists the administrations of organization org; archived
// ones only when archived is true.
func (s *Service) Administrations(ctx context.Context, org int64, archived bool, p domain.PageRequest) (domain.Page[models.Administration], error) {
	q := s.db.WithContext(ctx).Where("organization_id = ?", org)
	if !archived {
		q = q.Where("archived_at IS NULL")
	}
	out, err := page(q, p,
		func(a models.Administration) int64 { return a.ID })
	return out, storeErr(err, "list administrations of organization %d", org)
}

// Customer loads a customer of organization org.
func (s *Service) Customer(ctx context.Context, org, id int64) (*models.Customer, error) {
	var c models.Customer
	err := s.ofOrganization(ctx, org).Where("id = ?", id).First(&c).Error
	return &c, storeErr(err, "customer %d", id)
}

// Invoice loads an invoice of organization org.
func (s *Service) Invoice(ctx context.Context, org, id int64) (*models.Invoice, error) {
	var inv models.Invoice
	err := s.ofOrganization(ctx, org).Where("id = ?", id).First(&inv).Error
	return &inv, storeErr(err, "invoice %d", id)
}

// CustomerOf loads customer id of administration adm; a customer of another
// administration is ErrNotFound.
func (s *Service) CustomerOf(ctx context.Context, adm, id int64) (*models.Customer, error) {
	var c models.Customer
	err := s.db.WithContext(ctx).Where("id = ? AND administration_id = ?", id, adm).First(&c).Error
	return &c, storeErr(err, "customer %d of administration %d", id, adm)
}

// Customers lists an administration's customers matching f.
func (s *Service) Customers(ctx context.Context, adm int64, f domain.CustomerFilter, p domain.PageRequest) (domain.Page[models.Customer], error) {
	out, err := page(customersQuery(s.db.WithContext(ctx), adm, f), p, func(c models.Customer) int64 { return c.ID })
	return out, storeErr(err, "list customers of administration %d", adm)
}

// Invoices lists an administration's invoices matching f.
func (s *Service) Invoices(ctx context.Context, adm int64, f domain.InvoiceFilter, p domain.PageRequest) (domain.Page[models.Invoice], error) {
	out, err := page(invoicesQuery(s.db.WithContext(ctx), adm, f), p, func(i models.Invoice) int64 { return i.ID })
	return out, storeErr(err, "list invoices of administration %d", adm)
}

// Payments lists the payments registered on an invoice.
func (s *Service) Payments(ctx context.Context, invoiceID int64, p domain.PageRequest) (domain.Page[models.Payment], error) {
	out, err := page(s.db.WithContext(ctx).Where("invoice_id = ?", invoiceID), p, func(x models.Payment) int64 { return x.ID })
	return out, storeErr(err, "list payments of invoice %d", invoiceID)
}

// ImportRuns lists an administration's import runs.
func (s *Service) ImportRuns(ctx context.Context, adm int64, p domain.PageRequest) (domain.Page[models.ImportRun], error) {
	out, err := page(s.db.WithContext(ctx).Where("administration_id = ?", adm), p, func(r models.ImportRun) int64 { return r.ID })
	return out, storeErr(err, "list imports of administration %d", adm)
}

// ImportRun loads an import run of organization org.
func (s *Service) ImportRun(ctx context.Context, org, id int64) (*models.ImportRun, error) {
	var r models.ImportRun
	err := s.ofOrganization(ctx, org).Where("id = ?", id).First(&r).Error
	return &r, storeErr(err, "import %d", id)
}
