package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/text/currency"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
)

// CreateInvoiceRequest is the body of POST /administrations/{id}/invoices.
type CreateInvoiceRequest struct {
	CustomerID  int64  `json:"customer_id"`
	Number      string `json:"number"`
	IssueDate   string `json:"issue_date"`
	DueDate     string `json:"due_date"`
	Currency    string `json:"currency"`
	AmountMinor *int64 `json:"amount_minor"`
	OpenMinor   *int64 `json:"open_minor"`
}

// InvoiceView is an invoice with its journey's live state.
type InvoiceView struct {
	InvoiceBody
	Journey      *InvoiceJourneyView `json:"journey,omitempty"`
	JourneyError string              `json:"journey_error,omitempty"`
	Paused       bool                `json:"paused"`
}

const dateLayout = "2006-01-02"

func parseDate(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, badInput(field, "is required (YYYY-MM-DD)")
	}
	t, err := time.Parse(dateLayout, v)
	if err != nil {
		return time.Time{}, badInput(field, "%q is not a date (YYYY-MM-DD)", v)
	}
	return t, nil
}

// validCurrency reads an ISO 4217 code.
func validCurrency(field, v string) (string, error) {
	v = strings.ToUpper(strings.TrimSpace(v))
	if len(v) != 3 {
		return "", badInput(field, "%q is not an ISO 4217 currency code", v)
	}
	if _, err := currency.ParseISO(v); err != nil {
		return "", badInput(field, "unknown currency %q", v)
	}
	return v, nil
}

func (r CreateInvoiceRequest) toInvoice(defaultCurrency string) (*models.Invoice, error) {
	num := strings.TrimSpace(r.Number)
	switch {
	case num == "":
		return nil, badInput("number", "is required")
	case len(num) > 255:
		return nil, badInput("number", "is longer than 255 characters")
	case strings.ContainsAny(num, "\x00\r\n\t"):
		return nil, badInput("number", "contains control characters")
	}
	if r.CustomerID <= 0 {
		return nil, badInput("customer_id", "is required")
	}
	issue, err := parseDate("issue_date", r.IssueDate)
	if err != nil {
		return nil, err
	}
	due, err := parseDate("due_date", r.DueDate)
	if err != nil {
		return nil, err
	}
	if due.Before(issue) {
		return nil, ruleBroken("due_date", "is before the issue date")
	}
	cur := r.Currency
	if cur == "" {
		cur = defaultCurrency
	}
	if cur, err = validCurrency("currency", cur); err != nil {
		return nil, err
	}
	if r.AmountMinor == nil {
		return nil, badInput("amount_minor", "is required (integer, minor units)")
	}
	if *r.AmountMinor <= 0 {
		return nil, ruleBroken("amount_minor", "must be positive (a credit note is not an invoice)")
	}
	open := *r.AmountMinor
	if r.OpenMinor != nil {
		open = *r.OpenMinor
	}
	if open <= 0 || open > *r.AmountMinor {
		return nil, ruleBroken("open_minor", "must be more than 0 and at most the amount")
	}
	return &models.Invoice{Number: num, IssueDate: issue, DueDate: due, Currency: cur, AmountMinor: *r.AmountMinor, OpenMinor: open}, nil
}

func (s *Server) createInvoice(c *gin.Context) {
	adm, req, ok := objectAndBody[*models.Administration, CreateInvoiceRequest](c, s.administration, true)
	if !ok {
		return
	}
	inv, err := req.toInvoice(adm.Currency)
	if err != nil {
		fail(c, err)
		return
	}
	cust, err := s.App.CustomerOf(c.Request.Context(), adm.ID, req.CustomerID)
	if errors.Is(err, domain.ErrNotFound) {
		err = ruleBroken("customer_id", "customer %d is not a customer of administration %d", req.CustomerID, adm.ID)
	}
	if err != nil {
		fail(c, err)
		return
	}
	if err := s.App.CreateInvoice(c.Request.Context(), adm, cust, inv); err != nil {
		if errors.Is(err, domain.ErrDuplicate) {
			err = conflict("%v", err)
		}
		fail(c, err)
		return
	}
	logger(c).Info("invoice created", "administration_id", adm.ID, "invoice_id", inv.ID, "workflow_id", inv.WorkflowID)
	c.Header("Location", fmt.Sprintf("/api/v1/invoices/%d", inv.ID))
	c.JSON(http.StatusCreated, s.invoiceView(c, inv))
}

func (s *Server) getInvoice(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		fail(c, err)
		return
	}
	inv, err := s.invoice(c, id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, s.invoiceView(c, inv))
}

// invoiceView adds the journey's state from the `state` query; when the
// journey cannot answer (Temporal down, history gone) the invoice is still
// returned, with the reason. The planned steps carry the channel choice as
// it would be made now (docs/domain.md §1.7).
func (s *Server) invoiceView(c *gin.Context, inv *models.Invoice) InvoiceView {
	v := InvoiceView{InvoiceBody: invoiceBody(inv)}
	now := s.now()
	v.Paused = inv.PausedAt != nil && (inv.PausedUntil == nil || inv.PausedUntil.After(now))
	if inv.WorkflowID == "" {
		return v
	}
	st, err := s.App.InvoiceJourney(c.Request.Context(), inv)
	if err != nil {
		v.JourneyError = err.Error()
		return v
	}
	v.Journey = invoiceJourneyView(st)
	return v
}
