package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
)

// PaymentRequest registers money received against an invoice.
type PaymentRequest struct {
	AmountMinor *int64 `json:"amount_minor"`
	Currency    string `json:"currency"`
	// PaidAt is an RFC 3339 instant or a date (YYYY-MM-DD); default now.
	PaidAt    string `json:"paid_at,omitempty"`
	Reference string `json:"reference,omitempty"`
}

// Payment is a payment registered on an invoice, as the API serves it.
type Payment struct {
	ID          int64     `json:"id"`
	InvoiceID   int64     `json:"invoice_id"`
	AmountMinor int64     `json:"amount_minor"`
	Currency    string    `json:"currency"`
	PaidAt      time.Time `json:"paid_at"`
	Reference   string    `json:"reference"`
	CreatedAt   time.Time `json:"created_at"`
}

func paymentView(p *models.Payment) Payment {
	return Payment{ID: p.ID, InvoiceID: p.InvoiceID, AmountMinor: p.AmountMinor, Currency: p.Currency,
		PaidAt: p.PaidAt, Reference: p.Reference, CreatedAt: p.CreatedAt}
}

// PaymentView is a registered payment with the invoice as it now stands.
type PaymentView struct {
	Payment Payment     `json:"payment"`
	Invoice InvoiceView `json:"invoice"`
}

// ReasonRequest is the body of credit, dispute and dispute-resolved.
type ReasonRequest struct {
	Reason string `json:"reason"`
}

func (r PaymentRequest) toInput(now time.Time) (domain.PaymentInput, error) {
	in := domain.PaymentInput{PaidAt: now, Reference: strings.TrimSpace(r.Reference)}
	if r.AmountMinor == nil {
		return in, badInput("amount_minor", "is required (integer, minor units)")
	}
	if *r.AmountMinor <= 0 {
		return in, ruleBroken("amount_minor", "must be positive, got %d", *r.AmountMinor)
	}
	in.AmountMinor = *r.AmountMinor
	if strings.TrimSpace(r.Currency) == "" {
		return in, badInput("currency", "is required (ISO 4217, the invoice's currency)")
	}
	cur, err := validCurrency("currency", r.Currency)
	if err != nil {
		return in, err
	}
	in.Currency = cur
	if len(in.Reference) > 255 {
		return in, badInput("reference", "is longer than 255 characters")
	}
	if strings.ContainsAny(in.Reference, "\x00\r\n\t") {
		return in, badInput("reference", "contains control characters")
	}
	if r.PaidAt != "" {
		t, err := time.Parse(time.RFC3339, r.PaidAt)
		if err != nil {
			if t, err = time.Parse(dateLayout, r.PaidAt); err != nil {
				return in, badInput("paid_at", "%q is neither RFC 3339 nor YYYY-MM-DD", r.PaidAt)
			}
		}
		if t.After(now) {
			return in, ruleBroken("paid_at", "%s is in the future", t.UTC().Format(time.RFC3339))
		}
		in.PaidAt = t.UTC()
	}
	return in, nil
}

// reason reads a required reason of at most 255 characters.
func (r ReasonRequest) reason(required bool) (string, error) {
	v := strings.TrimSpace(r.Reason)
	switch {
	case v == "" && required:
		return "", badInput("reason", "is required")
	case len(v) > 255:
		return "", badInput("reason", "is longer than 255 characters")
	case strings.ContainsAny(v, "\x00"):
		return "", badInput("reason", "contains control characters")
	}
	return v, nil
}

// ledgerError maps the ledger's payment and dispute errors to the edge's.
func appError(err error) error {
	var ruleField string
	switch {
	case errors.Is(err, domain.ErrInvoiceClosed), errors.Is(err, domain.ErrDisputeState),
		errors.Is(err, domain.ErrDuplicatePayment), errors.Is(err, domain.ErrJourneyEnded):
		return conflict("%v", err)
	case errors.Is(err, domain.ErrPaymentAmount):
		ruleField = "amount_minor"
	case errors.Is(err, domain.ErrPaymentCurrency):
		ruleField = "currency"
	default:
		return err
	}
	return ruleBroken(ruleField, "%v", err)
}

func (s *Server) listPayments(c *gin.Context) {
	inv, ok := object(c, s.invoice)
	if !ok {
		return
	}
	listPage(c, func(p domain.PageRequest) (domain.Page[models.Payment], error) {
		return s.App.Payments(c.Request.Context(), inv.ID, p)
	}, paymentView)
}

// registerPayment lowers the open amount in the database, then tells the
// journey; a journey that cannot be told is reported in journey_error, the
// payment stands (a repeat would pay twice).
func (s *Server) registerPayment(c *gin.Context) {
	inv, req, ok := objectAndBody[*models.Invoice, PaymentRequest](c, s.invoice, true)
	if !ok {
		return
	}
	in, err := req.toInput(s.now())
	if err != nil {
		fail(c, err)
		return
	}
	res, err := s.App.RegisterPayment(c.Request.Context(), inv.ID, in)
	if err != nil && !errors.Is(err, domain.ErrNotSignalled) {
		fail(c, appError(err))
		return
	}
	view := PaymentView{Payment: paymentView(&res.Payment), Invoice: s.invoiceView(c, &res.Invoice)}
	if err != nil {
		logger(c).Warn("payment registered, journey not told", "invoice_id", inv.ID, "error", err)
		view.Invoice.JourneyError = err.Error()
	}
	logger(c).Info("payment registered", "invoice_id", inv.ID, "payment_id", res.Payment.ID,
		"amount_minor", res.Payment.AmountMinor, "open_minor", res.Invoice.OpenMinor, "status", res.Invoice.Status)
	c.Header("Location", fmt.Sprintf("/api/v1/invoices/%d/payments", inv.ID))
	c.JSON(http.StatusCreated, view)
}

// creditInvoice credits the whole open amount: the invoice is credited and
// its journey ends.
func (s *Server) creditInvoice(c *gin.Context) {
	inv, req, ok := objectAndBody[*models.Invoice, ReasonRequest](c, s.invoice, true)
	if !ok {
		return
	}
	reason, err := req.reason(true)
	if err != nil {
		fail(c, err)
		return
	}
	out, _, err := s.App.CreditInvoice(c.Request.Context(), inv.ID)
	if err != nil && !errors.Is(err, domain.ErrNotSignalled) {
		fail(c, appError(err))
		return
	}
	view := s.invoiceView(c, &out)
	if err != nil {
		logger(c).Warn("invoice credited, journey not told", "invoice_id", inv.ID, "error", err)
		view.JourneyError = err.Error()
	}
	logger(c).Info("invoice credited", "invoice_id", inv.ID, "reason", reason)
	c.JSON(http.StatusOK, view)
}

func (s *Server) disputeInvoice(c *gin.Context) {
	s.dispute(c, true)
}

func (s *Server) resolveDispute(c *gin.Context) {
	s.dispute(c, false)
}

// reasonOf reads the reason of a dispute opened (required) or resolved
// (optional) on the object load finds.
func reasonOf[O any](c *gin.Context, load func(*gin.Context, int64) (O, error), open bool) (obj O, reason string, ok bool) {
	obj, req, ok := objectAndBody[O, ReasonRequest](c, load, open)
	if !ok {
		return obj, "", false
	}
	reason, err := req.reason(open)
	if err != nil {
		fail(c, err)
		return obj, "", false
	}
	return obj, reason, true
}

// dispute opens or resolves a dispute: the journey is told first, so when
// Temporal is down nothing is recorded (503) and the request can be repeated.
func (s *Server) dispute(c *gin.Context, open bool) {
	inv, reason, ok := reasonOf(c, s.invoice, open)
	if !ok {
		return
	}
	var err error
	if open {
		err = s.App.OpenDispute(c.Request.Context(), inv, reason)
	} else {
		err = s.App.ResolveDispute(c.Request.Context(), inv, reason)
	}
	if err != nil {
		fail(c, appError(err))
		return
	}
	logger(c).Info("invoice dispute", "invoice_id", inv.ID, "disputed", open, "reason", reason)
	c.JSON(http.StatusOK, s.invoiceView(c, inv))
}
