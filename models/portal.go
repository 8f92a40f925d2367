package models

import "github.com/relance/relance/portal"

// PortalCodeText is the customer's short code as printed ("" when none).
// A new customer gets its code when it is created (db registers a create
// callback), whichever path creates it: API, import, demo.
func (c *Customer) PortalCodeText() string {
	if c.PortalCode == nil {
		return ""
	}
	return portal.FormatCode(*c.PortalCode)
}
