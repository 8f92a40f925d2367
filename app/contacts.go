package app

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
)

// Contacts lists the customer's contact persons, oldest first (the order
// in which they become recipients).
func (s *Service) Contacts(ctx context.Context, cust *models.Customer) ([]models.Contact, error) {
	cs := []models.Contact{}
	if err := s.db.WithContext(ctx).Where("customer_id = ?", cust.ID).Order("id").Find(&cs).Error; err != nil {
		return nil, fmt.Errorf("list contacts of customer %d: %w", cust.ID, err)
	}
	return cs, nil
}

// policyContacts are the customer's contacts as the channel choice reads them.
func (s *Service) policyContacts(ctx context.Context, customerID int64) ([]policy.Contact, error) {
	var cs []models.Contact
	if err := s.db.WithContext(ctx).Where("customer_id = ?", customerID).Order("id").Find(&cs).Error; err != nil {
		return nil, fmt.Errorf("load contacts of customer %d: %w", customerID, err)
	}
	return models.PolicyContacts(cs), nil
}

// Contact returns one contact person of the customer (ErrNotFound for one
// of another customer).
func (s *Service) Contact(ctx context.Context, cust *models.Customer, id int64) (*models.Contact, error) {
	var c models.Contact
	err := s.db.WithContext(ctx).First(&c, "id = ? AND customer_id = ?", id, cust.ID).Error
	return &c, storeErr(err, "contact %d of customer %d", id, cust.ID)
}

// CreateContact adds a contact person to the customer: an email address
// and at least one role are required; a customer has at most
// models.MaxContacts, each address once (ErrConflict).
func (s *Service) CreateContact(ctx context.Context, cust *models.Customer, in domain.ContactInput) (*models.Contact, error) {
	if in.Email == nil {
		return nil, domain.Invalid("email", "is required")
	}
	if in.Roles == nil {
		return nil, domain.Invalid("roles", "is required: one or more of billing, reminders, collection")
	}
	c := &models.Contact{CustomerID: cust.ID, Source: "api"}
	if err := applyContact(in, c); err != nil {
		return nil, err
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The customer's row is locked so that two creations at once
		// count and compare the same contacts.
		var locked models.Customer
		if err := tx.Clauses(lockForUpdate(tx)...).First(&locked, cust.ID).Error; err != nil {
			return storeErr(err, "lock customer %d", cust.ID)
		}
		var others []models.Contact
		if err := tx.Where("customer_id = ?", cust.ID).Find(&others).Error; err != nil {
			return fmt.Errorf("load contacts of customer %d: %w", cust.ID, err)
		}
		if len(others) >= models.MaxContacts {
			return domain.RuleBroken("email", "customer %d already has %d contacts, the most allowed", cust.ID, models.MaxContacts)
		}
		if err := uniqueContact(others, c); err != nil {
			return err
		}
		return tx.Create(c).Error
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("contact created", "customer_id", cust.ID, "contact_id", c.ID)
	return c, nil
}

// UpdateContact changes a contact person; a new address is used again
// even if the old one bounced.
func (s *Service) UpdateContact(ctx context.Context, cust *models.Customer, id int64, in domain.ContactInput) (*models.Contact, error) {
	var c models.Contact
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var locked models.Customer
		if err := tx.Clauses(lockForUpdate(tx)...).First(&locked, cust.ID).Error; err != nil {
			return storeErr(err, "lock customer %d", cust.ID)
		}
		if err := tx.First(&c, "id = ? AND customer_id = ?", id, cust.ID).Error; err != nil {
			return storeErr(err, "contact %d of customer %d", id, cust.ID)
		}
		if err := applyContact(in, &c); err != nil {
			return err
		}
		var others []models.Contact
		if err := tx.Where("customer_id = ? AND id <> ?", cust.ID, id).Find(&others).Error; err != nil {
			return fmt.Errorf("load contacts of customer %d: %w", cust.ID, err)
		}
		if err := uniqueContact(others, &c); err != nil {
			return err
		}
		return tx.Select("*").Omit("created_at").Save(&c).Error
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// DeleteContact removes a contact person: its roles fall back to the
// customer's address.
func (s *Service) DeleteContact(ctx context.Context, cust *models.Customer, id int64) error {
	res := s.db.WithContext(ctx).Where("id = ? AND customer_id = ?", id, cust.ID).Delete(&models.Contact{})
	if res.Error != nil {
		return fmt.Errorf("delete contact %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("contact %d of customer %d: %w", id, cust.ID, domain.ErrNotFound)
	}
	return nil
}

// applyContact validates in and writes it on c. A changed address clears
// the mark of a bounce.
func applyContact(in domain.ContactInput, c *models.Contact) error {
	for _, f := range []struct {
		field string
		v     *string
		dst   *string
		max   int
	}{{"name", in.Name, &c.Name, 255}, {"phone", in.Phone, &c.Phone, 64}} {
		if f.v == nil {
			continue
		}
		v, err := singleLine(f.field, *f.v, f.max, false)
		if err != nil {
			return err
		}
		*f.dst = v
	}
	if in.Email != nil {
		e := strings.TrimSpace(*in.Email)
		if !policy.ValidEmail(e) {
			return domain.Invalid("email", "%q is not an email address (name@example.com)", *in.Email)
		}
		if !strings.EqualFold(e, c.Email) {
			c.BouncedEmail = ""
		}
		c.Email = e
	}
	if in.Language != nil {
		l := strings.TrimSpace(*in.Language)
		if l != "" && !domain.ValidLanguage(l) {
			return domain.Invalid("language", "must be one of nl, fr, en, de (or empty)")
		}
		c.Language = l
	}
	if in.Roles != nil {
		roles, err := contactRoles(*in.Roles)
		if err != nil {
			return err
		}
		c.Roles = roles
	}
	if in.CC != nil {
		c.CC = *in.CC
	}
	return nil
}

// contactRoles reads a list of roles: at least one, each known, each once.
func contactRoles(in []string) (models.ContactRoles, error) {
	if len(in) == 0 {
		return nil, domain.Invalid("roles", "give at least one of billing, reminders, collection")
	}
	var out models.ContactRoles
	for _, r := range in {
		role := policy.ContactRole(strings.TrimSpace(r))
		if !role.Valid() {
			return nil, domain.Invalid("roles", "%q is not a role (billing, reminders, collection)", r)
		}
		if !out.Has(role) {
			out = append(out, role)
		}
	}
	return out, nil
}

// uniqueContact refuses a second contact with the same address.
func uniqueContact(others []models.Contact, c *models.Contact) error {
	for _, o := range others {
		if strings.EqualFold(o.Email, c.Email) {
			return conflict("customer %d already has contact %d with the address %s", c.CustomerID, o.ID, c.Email)
		}
	}
	return nil
}

// lockForUpdate locks rows on PostgreSQL; SQLite serialises writers anyway.
func lockForUpdate(tx *gorm.DB) []clause.Expression {
	if tx.Dialector.Name() == "postgres" {
		return []clause.Expression{clause.Locking{Strength: "UPDATE"}}
	}
	return nil
}
