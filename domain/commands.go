package domain

import (
	"net/mail"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/relance/relance/journeys"
	"github.com/relance/relance/models"
)

// CustomerPatch changes a customer's contact data; nil fields stay as they are.
type CustomerPatch struct {
	Name         *string
	LegalID      *string
	Language     *string
	Email        *string
	Phone        *string
	AddressLine1 *string
	AddressLine2 *string
	PostalCode   *string
	City         *string
	Country      *string
	// CustomerType is business or consumer (collection costs).
	CustomerType *string
}

// ValidCountry reads an ISO 3166-1 alpha-2 country code.
func ValidCountry(field, v string) (string, error) {
	cc := strings.ToUpper(strings.TrimSpace(v))
	if len(cc) != 2 {
		return "", Invalid(field, "%q is not a 2-letter ISO 3166 country code", v)
	}
	r, err := language.ParseRegion(cc)
	if err != nil || !r.IsCountry() || r.String() != cc {
		return "", Invalid(field, "unknown country code %q", v)
	}
	return cc, nil
}

// ValidEmail reads one bare address (no display name); "" clears it.
func ValidEmail(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" {
		return "", Invalid(field, "%q is not an email address (name@example.com)", v)
	}
	if len(v) > 255 {
		return "", Invalid(field, "is longer than 255 characters")
	}
	return v, nil
}

// ValidLanguage reports whether l is a language Relance writes in.
func ValidLanguage(l string) bool {
	switch l {
	case "nl", "fr", "en", "de":
		return true
	}
	return false
}

// CustomerSendSettingsPatch changes a customer's channel toggles (seed 002).
type CustomerSendSettingsPatch struct {
	SendInvoicesByEmail  *bool
	SendRemindersByEmail *bool
	SendByPost           *bool
	SendSMS              *bool
}

// AdministrationSettingsPatch changes an administration's send settings;
// nil fields stay as they are. They apply from the next step sent. The
// webhook secret is write-only.
type AdministrationSettingsPatch struct {
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
	CustomerMinGapDays *int    `json:"customer_min_gap_days"`
	SendWindowStart    *int    `json:"send_window_start"`
	SendWindowEnd      *int    `json:"send_window_end"`
	Country            *string `json:"country"`
	TimeZone           *string `json:"time_zone"`
	Language           *string `json:"language"`
	SenderName         *string `json:"sender_name"`
	SenderEmail        *string `json:"sender_email"`
	ReplyToEmail       *string `json:"reply_to_email"`
	SMSSender          *string `json:"sms_sender"`
	// LateEntry and LateEntryMaxStep: where a late-imported invoice enters
	// its journey (see models.AdministrationSettings).
	LateEntry           *models.LateEntry `json:"late_entry"`
	LateEntryMaxStep    *string           `json:"late_entry_max_step"`
	InterestRateBP      *int64            `json:"interest_rate_bp"`
	CaseStageDays       *int              `json:"case_stage_days"`
	AgencyWebhookURL    *string           `json:"agency_webhook_url"`
	AgencyWebhookSecret *string           `json:"agency_webhook_secret"`
	// StatementSchedule (off, monthly, weekly) and StatementDay (1–28 of
	// the month, or 1 Monday – 7 Sunday) set the administration's scheduled
	// open-items statements.
	StatementSchedule *string `json:"statement_schedule"`
	StatementDay      *int    `json:"statement_day"`
	// BCCEmail receives a blind copy of every email (the archive).
	BCCEmail *string `json:"bcc_email"`
	// Bundling is "on" (a customer's reminders of one send window go out as
	// one message per channel) or "off" (one message per invoice).
	Bundling *string `json:"bundling"`
	// MinimumAmounts sets, per ISO 4217 currency, the least overdue total
	// (minor units) a customer is reminded of; 0 or null removes the
	// currency's minimum, currencies not named stay as they are.
	MinimumAmounts map[string]*int64 `json:"minimum_amounts"`
}

// JourneyInput is a journey as an admin writes it.
type JourneyInput struct {
	Name string
	// MinGapDays nil means journeys.DefaultMinGapDays.
	MinGapDays *int
	Steps      []journeys.Step
}

// PaymentInput is money received against an invoice.
type PaymentInput struct {
	AmountMinor int64
	Currency    string
	PaidAt      time.Time
	Reference   string
}

// PaymentResult is a registered payment with the invoice as it now stands.
type PaymentResult struct {
	Payment models.Payment
	Invoice models.Invoice
	// Signalled is false when the journey could not be told (it had ended,
	// or Temporal did not answer): the database stays the truth, and the
	// sending activity re-reads it before every message.
	Signalled bool
}
