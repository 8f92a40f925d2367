package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/text/language"
	"gorm.io/gorm"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
)

// customer validates n for administration adm and returns the row to store.
func newAPICustomer(n domain.NewCustomer, adm *models.Administration) (*models.Customer, error) {
	c := &models.Customer{AdministrationID: adm.ID, CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: NewPortalToken()}
	for _, f := range []struct {
		field    string
		v        string
		dst      *string
		max      int
		required bool
	}{
		{"external_ref", n.ExternalRef, &c.ExternalRef, 255, true},
		{"name", n.Name, &c.Name, 255, true},
		{"legal_id", n.LegalID, &c.LegalID, 64, false},
		{"address_line1", n.AddressLine1, &c.AddressLine1, 255, false},
		{"address_line2", n.AddressLine2, &c.AddressLine2, 255, false},
		{"postal_code", n.PostalCode, &c.PostalCode, 32, false},
		{"city", n.City, &c.City, 128, false},
		{"phone", n.Phone, &c.Phone, 64, false},
	} {
		v, err := singleLine(f.field, f.v, f.max, f.required)
		if err != nil {
			return nil, err
		}
		*f.dst = v
	}
	c.Language = adm.Language
	if l := strings.TrimSpace(n.Language); l != "" {
		if !domain.ValidLanguage(l) {
			return nil, domain.Invalid("language", "must be one of nl, fr, en, de")
		}
		c.Language = l
	}
	c.Country = adm.Country
	if cc := strings.ToUpper(strings.TrimSpace(n.Country)); cc != "" {
		r, err := language.ParseRegion(cc)
		if len(cc) != 2 || err != nil || !r.IsCountry() {
			return nil, domain.Invalid("country", "%q is not an ISO 3166 country code", n.Country)
		}
		c.Country = r.Canonicalize().String() // UK → GB
	}
	if e := strings.TrimSpace(n.Email); e != "" {
		if !policy.ValidEmail(e) {
			return nil, domain.Invalid("email", "%q is not an email address (name@example.com)", n.Email)
		}
		c.Email = e
	}
	c.Type = models.CustomerBusiness
	if v := strings.TrimSpace(n.CustomerType); v != "" {
		if t := models.CustomerType(v); t.Valid() {
			c.Type = t
		} else {
			return nil, domain.Invalid("customer_type", "must be business or consumer, got %q", n.CustomerType)
		}
	}
	m, err := ContactMobile(c.Phone, c.Country)
	if err != nil {
		return nil, domain.RuleBroken("phone", "%v", err)
	}
	c.Mobile = m
	for _, t := range []struct {
		v   *bool
		dst *bool
	}{
		{n.SendInvoicesByEmail, &c.SendInvoicesByEmail}, {n.SendRemindersByEmail, &c.SendRemindersByEmail},
		{n.SendByPost, &c.SendByPost}, {n.SendSMS, &c.SendSMS},
	} {
		if t.v != nil {
			*t.dst = *t.v
		}
	}
	return c, nil
}

// CreateCustomer creates a customer of adm. Its reference must be new in
// the administration (ErrDuplicate): the next import updates the customer
// it names, so API and import stay one record.
func (s *Service) CreateCustomer(ctx context.Context, adm *models.Administration, n domain.NewCustomer) (*models.Customer, error) {
	c, err := newAPICustomer(n, adm)
	if err != nil {
		return nil, err
	}
	if err := s.db.WithContext(ctx).Create(c).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return nil, fmt.Errorf("customer reference %q already exists in administration %d: %w: %w", c.ExternalRef, adm.ID, domain.ErrDuplicate, domain.ErrConflict)
		}
		return nil, fmt.Errorf("create customer %q: %w", c.ExternalRef, err)
	}
	s.log.Info("customer created", "administration_id", adm.ID, "customer_id", c.ID)
	return c, nil
}
