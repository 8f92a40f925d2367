package models

import (
	"gorm.io/gorm"

	"github.com/relance/relance/portal"
)

// BeforeCreate gives a new customer its short portal code, whichever path
// creates it (API, import, demo): letters and SMS print it.
func (c *Customer) BeforeCreate(*gorm.DB) error {
	if c.PortalCode == nil {
		code := portal.NewCode()
		c.PortalCode = &code
	}
	return nil
}

// PortalCodeText is the customer's short code as printed ("" when none).
func (c *Customer) PortalCodeText() string {
	if c.PortalCode == nil {
		return ""
	}
	return portal.FormatCode(*c.PortalCode)
}
