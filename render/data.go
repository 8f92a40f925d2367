package render

import (
	"strings"
	"time"
)

// Address is a postal address as printed on a letter and in a signature.
// Lines holds the street lines; the rest is kept apart so that each locale
// can be printed in its usual order.
type Address struct {
	Lines      []string
	PostalCode string
	City       string
	Country    string
}

// lines returns the address as printable lines ("PostalCode City" on one
// line), leaving out empty parts.
func (a Address) lines() []string {
	var out []string
	for _, l := range a.Lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	if pc := strings.TrimSpace(strings.TrimSpace(a.PostalCode) + " " + strings.TrimSpace(a.City)); pc != "" {
		out = append(out, pc)
	}
	if c := strings.TrimSpace(a.Country); c != "" {
		out = append(out, c)
	}
	return out
}

// Item is one open accounting document of a customer (an invoice, or a
// credit note with a negative amount), as listed by #items_list.
type Item struct {
	// Number is the document number shown to the customer.
	Number string
	// IssueDate and DueDate are calendar dates; only their date part is used.
	IssueDate, DueDate time.Time
	// Amount is the document total; Open is what is still unpaid.
	Amount, Open Money
	// DaysOverdue is computed by the caller (it knows the journey's clock).
	DaysOverdue int
	// Step labels the reminder the item is in when one message carries the
	// steps of several invoices (a bundle: StepLabel); the tables of
	// #items_list show a column for it when any item has one. Empty for an
	// ordinary list of open items.
	Step string
}

// CustomerData is the debtor a message is addressed to.
type CustomerData struct {
	Name      string
	LegalID   string // company or VAT number
	Email     string
	Phone     string
	Reference string // the customer's account number in the ledger
	Address   Address
}

// CompanyData is the creditor (the administration) that sends the message.
type CompanyData struct {
	Name            string
	LogoURL         string
	LatePenaltyRate string // as the terms state it, e.g. "8%"
	BankDetails     string // IBAN/BIC text, may span several lines
	Address         Address
	Phone           string
	Email           string
	Website         string
}

// UserData is the credit manager who signs the message.
type UserData struct {
	Name  string
	Email string
	Phone string
}

// Data is everything a template can show. The caller fills it from the
// database at the moment of sending (or previewing), so rendering needs no
// I/O and a partial payment shows up in the next message.
type Data struct {
	// Language is the customer's language: nl, fr, en or de (a region such
	// as "nl-BE" is accepted); anything else falls back to en.
	Language string
	// Now is the moment of sending; it decides which items are overdue and
	// what #today shows.
	Now      time.Time
	Customer CustomerData
	Company  CompanyData
	User     UserData
	// Invoice is the invoice this message is about; nil for a statement or
	// a collection notice about the whole account.
	Invoice *Item
	// Items are all the customer's open items, for #items_list, #items_count,
	// #total_due and #overdue_amount.
	Items []Item
	// PortalLink is the customer's personal portal URL (docs/domain.md §1.2: every
	// message carries it).
	PortalLink string
	// PortalHome is the portal page where PortalCode is typed; PortalCode
	// the customer's short code, formatted (e.g. K7QM-4XTA).
	PortalHome, PortalCode string
	// CollectionCosts and Interest are set for collection notices.
	CollectionCosts, Interest *Money
	// CostsAnnounced: the collection costs are stated but not yet due (a
	// consumer's 14-day letter under the Dutch WIK), so #total_claim and
	// #total_with_costs leave them out.
	CostsAnnounced bool
}
