package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
)

// CustomerView is a customer as the admin list and page show it.
type CustomerView struct {
	CustomerBody
	// Paused is true while the customer's pause holds (no end date, or one to come).
	Paused bool `json:"paused"`
	// ToVerify is true when the customer gave an email address in the portal
	// that no one accepted or dismissed yet (seed 001).
	ToVerify bool `json:"to_verify"`
	// OpenInvoices counts the customer's open invoices.
	OpenInvoices int `json:"open_invoices"`
	// JourneysSignalled counts the running journeys a customer-wide action
	// (pause, resume, journey change) reached; absent on reads.
	JourneysSignalled *int `json:"journeys_signalled,omitempty"`
}

func (s *Server) customerView(c *gin.Context, cust *models.Customer) (CustomerView, error) {
	n, err := s.App.OpenInvoiceCounts(c.Request.Context(), []int64{cust.ID})
	if err != nil {
		return CustomerView{}, err
	}
	return s.customerViewWith(cust, n[cust.ID]), nil
}

func (s *Server) customerViewWith(cust *models.Customer, open int) CustomerView {
	now := s.now()
	return CustomerView{
		CustomerBody: customerBody(cust),
		Paused:       cust.PausedAt != nil && (cust.PausedUntil == nil || cust.PausedUntil.After(now)),
		ToVerify:     cust.ProvidedEmail != "",
		OpenInvoices: open,
	}
}

func (s *Server) listCustomers(c *gin.Context) {
	adm, ok := object(c, s.administration)
	if !ok {
		return
	}
	f := domain.CustomerFilter{Query: c.Query("q"), Now: s.now()}
	if len(f.Query) > 255 {
		fail(c, badInput("q", "is longer than 255 characters"))
		return
	}
	switch v := c.Query("to_verify"); v {
	case "":
	case "email_provided":
		f.ProvidedEmail = true
	default:
		fail(c, badInput("to_verify", "the only filter is email_provided, got %q", v))
		return
	}
	if err := boolQueries(c, map[string]**bool{"paused": &f.Paused, "open_invoices": &f.OpenInvoices}); err != nil {
		fail(c, err)
		return
	}
	p, err := pageRequest(c)
	if err != nil {
		fail(c, err)
		return
	}
	page, err := s.App.Customers(c.Request.Context(), adm.ID, f, p)
	if err != nil {
		fail(c, err)
		return
	}
	ids := make([]int64, len(page.Data))
	for i, cu := range page.Data {
		ids[i] = cu.ID
	}
	open, err := s.App.OpenInvoiceCounts(c.Request.Context(), ids)
	if err != nil {
		fail(c, err)
		return
	}
	out := Page[CustomerView]{Next: page.Next, Data: make([]CustomerView, 0, len(page.Data))}
	for i := range page.Data {
		out.Data = append(out.Data, s.customerViewWith(&page.Data[i], open[page.Data[i].ID]))
	}
	c.JSON(http.StatusOK, out)
}

// respondCustomer answers the customer as it now is.
func (s *Server) respondCustomer(c *gin.Context, cust *models.Customer, signalled *int) {
	v, err := s.customerView(c, cust)
	if err != nil {
		fail(c, err)
		return
	}
	v.JourneysSignalled = signalled
	c.JSON(http.StatusOK, v)
}

func (s *Server) getCustomer(c *gin.Context) {
	cust, ok := object(c, s.customer)
	if !ok {
		return
	}
	s.respondCustomer(c, cust, nil)
}

// CustomerPatch changes a customer's contact data; absent fields stay as
// they are. The next import overwrites what the accounting software holds
// for customers with an open invoice (seed 001): change it there too.
type CustomerPatch struct {
	Name         *string `json:"name"`
	LegalID      *string `json:"legal_id"`
	Language     *string `json:"language"`
	Email        *string `json:"email"`
	Phone        *string `json:"phone"`
	AddressLine1 *string `json:"address_line1"`
	AddressLine2 *string `json:"address_line2"`
	PostalCode   *string `json:"postal_code"`
	City         *string `json:"city"`
	Country      *string `json:"country"`
	// CustomerType is business or consumer: it decides the collection
	// costs (40 EUR per invoice, or the Dutch WIK scale).
	CustomerType *string `json:"customer_type"`
}

func (s *Server) patchCustomer(c *gin.Context) {
	cust, p, ok := objectAndBody[*models.Customer, CustomerPatch](c, s.customer, true)
	if !ok {
		return
	}
	if err := s.App.PatchCustomer(c.Request.Context(), cust, domain.CustomerPatch(p)); err != nil {
		fail(c, err)
		return
	}
	s.respondCustomer(c, cust, nil)
}

// ProvidedEmailRequest is an address the customer gave, to be verified.
type ProvidedEmailRequest struct {
	Email string `json:"email"`
}

// submitProvidedEmail records an address the customer gave by phone or
// letter, exactly as the portal will: it waits in "to verify" and the
// customer's running journeys record it (email-submitted).
func (s *Server) submitProvidedEmail(c *gin.Context) {
	cust, req, ok := objectAndBody[*models.Customer, ProvidedEmailRequest](c, s.customer, true)
	if !ok {
		return
	}
	email, err := domain.ValidEmail("email", req.Email)
	if err == nil && email == "" {
		err = badInput("email", "is required")
	}
	if err != nil {
		fail(c, err)
		return
	}
	n, err := s.App.SubmitProvidedEmail(c.Request.Context(), cust, email)
	if err != nil {
		fail(c, signalFailure(err))
		return
	}
	logger(c).Info("provided email recorded", "customer_id", cust.ID, "journeys", n)
	s.respondCustomer(c, cust, &n)
}

func (s *Server) acceptProvidedEmail(c *gin.Context) {
	s.providedEmail(c, s.App.AcceptProvidedEmail)
}

func (s *Server) dismissProvidedEmail(c *gin.Context) {
	s.providedEmail(c, s.App.DismissProvidedEmail)
}

func (s *Server) providedEmail(c *gin.Context, act func(ctx context.Context, cust *models.Customer) error) {
	cust, ok := object(c, s.customer)
	if !ok {
		return
	}
	if err := act(c.Request.Context(), cust); err != nil {
		if errors.Is(err, domain.ErrNoProvidedEmail) {
			err = conflict("customer %d has no provided email to verify", cust.ID)
		}
		fail(c, err)
		return
	}
	s.respondCustomer(c, cust, nil)
}

// signalFailure answers a customer-wide change whose journeys could not all
// be told: the change is stored, the request may be repeated.
func signalFailure(err error) error {
	if errors.Is(err, domain.ErrNotSignalled) {
		return errors.Join(ErrUnavailable, fmt.Errorf("the change is saved, but some running journeys could not be told; repeat the request: %w", err))
	}
	return err
}

func (s *Server) pauseCustomer(c *gin.Context) {
	cust, until, reason, ok := pauseOf(c, s.customer)
	if !ok {
		return
	}
	n, err := s.App.PauseCustomer(c.Request.Context(), cust, until, reason)
	if err != nil {
		fail(c, signalFailure(err))
		return
	}
	logger(c).Info("customer paused", "customer_id", cust.ID, "until", until, "journeys", n)
	s.respondCustomer(c, cust, &n)
}

func (s *Server) resumeCustomer(c *gin.Context) {
	cust, req, ok := objectAndBody[*models.Customer, ResumeRequest](c, s.customer, false)
	if !ok {
		return
	}
	n, err := s.App.ResumeCustomer(c.Request.Context(), cust, strings.TrimSpace(req.Reason))
	if err != nil {
		fail(c, signalFailure(err))
		return
	}
	logger(c).Info("customer resumed", "customer_id", cust.ID, "journeys", n)
	s.respondCustomer(c, cust, &n)
}

// AssignJourneyRequest gives a customer its own journey; a null journey_id
// returns it to the administration's default.
type AssignJourneyRequest struct {
	JourneyID NullableID `json:"journey_id"`
}

// NullableID is an ID that may be JSON null; Set tells an explicit null
// from an absent field, so that forgetting the field does not reset anything.
type NullableID struct {
	ID  *int64
	Set bool
}

// UnmarshalJSON reads an integer or null.
func (n *NullableID) UnmarshalJSON(b []byte) error {
	n.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		n.ID = nil
		return nil
	}
	var id int64
	if err := json.Unmarshal(b, &id); err != nil {
		return err
	}
	n.ID = &id
	return nil
}

// MarshalJSON writes the ID or null.
func (n NullableID) MarshalJSON() ([]byte, error) {
	if n.ID == nil {
		return []byte("null"), nil
	}
	return json.Marshal(*n.ID)
}

func (s *Server) assignCustomerJourney(c *gin.Context) {
	cust, req, ok := objectAndBody[*models.Customer, AssignJourneyRequest](c, s.customer, true)
	if !ok {
		return
	}
	if !req.JourneyID.Set {
		fail(c, badInput("journey_id", "is required: a journey ID, or null for the administration's default"))
		return
	}
	adm, err := s.administration(c, cust.AdministrationID)
	if err != nil {
		fail(c, err)
		return
	}
	n, err := s.App.AssignJourney(c.Request.Context(), adm, cust, req.JourneyID.ID)
	if err != nil {
		fail(c, signalFailure(err))
		return
	}
	logger(c).Info("customer journey assigned", "customer_id", cust.ID, "journey_id", req.JourneyID.ID, "journeys", n)
	s.respondCustomer(c, cust, &n)
}
