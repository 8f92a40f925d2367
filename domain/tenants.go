package domain

import (
	"errors"
	"fmt"
)

// ErrArchived is a journey that would start in an archived administration;
// it is a conflict (409) at the edge.
var ErrArchived = fmt.Errorf("administration is archived: %w", ErrConflict)

// ErrReadOnly is a write asked with a read-only API key (403 at the edge).
var ErrReadOnly = errors.New("read-only API key")

// Caller is who an API key speaks for.
type Caller struct {
	OrganizationID int64
	// ReadOnly keys may read but not change anything.
	ReadOnly bool
}

// AdministrationInput creates or changes an administration: every field GET
// shows; nil fields stay as they are (on create: the country's defaults,
// then Relance's).
type AdministrationInput struct {
	Name     *string `json:"name"`
	Country  *string `json:"country"`
	TimeZone *string `json:"time_zone"`
	Currency *string `json:"currency"`
	Language *string `json:"language"`

	PostalEnabled             *bool `json:"postal_enabled"`
	FinalReminderByPost       *bool `json:"final_reminder_by_post"`
	SMSEnabled                *bool `json:"sms_enabled"`
	CollectionSMSEnabled      *bool `json:"collection_sms_enabled"`
	StatementSMSEnabled       *bool `json:"statement_sms_enabled"`
	UseProvidedEmail          *bool `json:"use_provided_email"`
	AskEmailOnInvoiceLetters  *bool `json:"ask_email_on_invoice_letters"`
	AskEmailOnReminderLetters *bool `json:"ask_email_on_reminder_letters"`
	// CustomerMinGapDays is the least number of days between two bundles
	// of reminders to one customer (docs/bundling.md); 0: no gap.
	CustomerMinGapDays *int `json:"customer_min_gap_days"`
	SendWindowStart    *int `json:"send_window_start"`
	SendWindowEnd      *int `json:"send_window_end"`
	// Bundling is "on" (a customer's reminders of one send window go out as
	// one message per channel) or "off" (one message per invoice).
	Bundling *string `json:"bundling"`
	// MinimumAmounts sets, per ISO 4217 currency, the least overdue total
	// (minor units) a customer is reminded of; 0 or null removes the
	// currency's minimum, currencies not named stay as they are.
	MinimumAmounts map[string]*int64 `json:"minimum_amounts"`

	CompanyName     *string `json:"company_name"`
	CompanyAddress  *string `json:"company_address"`
	CompanyPhone    *string `json:"company_phone"`
	CompanyEmail    *string `json:"company_email"`
	CompanyWebsite  *string `json:"company_website"`
	CompanyLogoURL  *string `json:"company_logo_url"`
	LegalID         *string `json:"legal_id"`
	BankDetails     *string `json:"bank_details"`
	LatePenaltyRate *string `json:"late_penalty_rate"`
	SenderName      *string `json:"sender_name"`
	SenderEmail     *string `json:"sender_email"`
	ReplyToEmail    *string `json:"reply_to_email"`
	SMSSender       *string `json:"sms_sender"`
	UserName        *string `json:"user_name"`
	UserEmail       *string `json:"user_email"`
	UserPhone       *string `json:"user_phone"`

	// BCCEmail receives a blind copy of every email to a customer, for the
	// administration's archive.
	BCCEmail *string `json:"bcc_email"`
}

// NewCustomer is a customer created through the API: the fields an import
// writes, and optional send toggles (every channel on by default).
type NewCustomer struct {
	ExternalRef  string `json:"external_ref"`
	Name         string `json:"name"`
	LegalID      string `json:"legal_id"`
	Language     string `json:"language"`
	Email        string `json:"email"`
	Phone        string `json:"phone"`
	AddressLine1 string `json:"address_line1"`
	AddressLine2 string `json:"address_line2"`
	PostalCode   string `json:"postal_code"`
	City         string `json:"city"`
	Country      string `json:"country"`
	// CustomerType is business (the default) or consumer: it decides the
	// collection costs (docs/domain.md §1.5).
	CustomerType string `json:"customer_type"`

	SendInvoicesByEmail  *bool `json:"send_invoices_by_email"`
	SendRemindersByEmail *bool `json:"send_reminders_by_email"`
	SendByPost           *bool `json:"send_by_post"`
	SendSMS              *bool `json:"send_sms"`
}
