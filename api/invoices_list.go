package api

import (
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
)

// validStage reports whether v is a journey stage.
func validStage(v string) bool {
	return slices.Contains(domain.Stages, domain.Stage(v))
}

// listInvoices lists an administration's invoices, filtered; the journey
// state is not queried per row (GET /invoices/{id} has it).
func (s *Server) listInvoices(c *gin.Context) {
	adm, ok := object(c, s.administration)
	if !ok {
		return
	}
	now := s.now()
	f := domain.InvoiceFilter{Now: now}
	if v := c.Query("status"); v != "" {
		if !models.InvoiceStatus(v).Valid() {
			fail(c, badInput("status", "must be open, paid or credited, got %q", v))
			return
		}
		f.Status = models.InvoiceStatus(v)
	}
	if v := c.Query("stage"); v != "" {
		if !validStage(v) {
			fail(c, badInput("stage", "unknown stage %q", v))
			return
		}
		f.Stage = v
	}
	if v := c.Query("customer_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			fail(c, badInput("customer_id", "must be a positive integer, got %q", v))
			return
		}
		f.CustomerID = id
	}
	if err := boolQueries(c, map[string]**bool{"overdue": &f.Overdue, "paused": &f.Paused, "disputed": &f.Disputed}); err != nil {
		fail(c, err)
		return
	}
	listPage(c, func(p domain.PageRequest) (domain.Page[models.Invoice], error) {
		return s.App.Invoices(c.Request.Context(), adm.ID, f, p)
	}, func(inv *models.Invoice) InvoiceView {
		return InvoiceView{InvoiceBody: invoiceBody(inv), Paused: inv.PausedAt != nil && (inv.PausedUntil == nil || inv.PausedUntil.After(now))}
	})
}
