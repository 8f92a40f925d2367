package domain

import (
	"time"

	"github.com/relance/relance/models"
)

// PageRequest asks for one page of a list: at most Limit rows whose ID is
// above Cursor (keyset pagination stays fast and stable while rows are added).
type PageRequest struct {
	Limit  int
	Cursor int64
}

// Page is one page of a list: Next is the cursor of the following page, 0
// on the last one.
type Page[T any] struct {
	Data []T
	Next int64
}

// CustomerFilter selects customers for the admin list; zero values do not filter.
type CustomerFilter struct {
	// Query matches a part of the name, reference or email, ignoring case.
	Query string
	// ProvidedEmail lists the customers "to verify": they gave an email
	// address in the portal that no one accepted or dismissed (seed 001).
	ProvidedEmail bool
	// Paused: true lists paused customers, false the others.
	Paused *bool
	// OpenInvoices: true lists customers with an open invoice, false the others.
	OpenInvoices *bool
	// Now decides whether a pause with an end date still holds.
	Now time.Time
}

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
