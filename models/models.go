// Package models holds the GORM entities of Relance: the whole domain of
// docs/domain.md §1, from the organization down to every message sent. Money is
// int64 minor units beside an ISO 4217 currency; statuses are typed; times are
// stored in UTC (db.Open sets GORM's clock to UTC).
package models

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"

	"github.com/relance/relance/journeys"
	"github.com/relance/relance/policy"
)

// InboxReadMode says when a conversation counts as read (seed 003).
type InboxReadMode string

// Inbox read modes.
const (
	// ReadManually keeps a conversation unread until an admin marks it read.
	ReadManually InboxReadMode = "manually"
	// ReadOnOpen marks a conversation read when an admin opens it.
	ReadOnOpen InboxReadMode = "on_open"
)

// Organization is the tenant: API keys belong to it and see only its administrations.
type Organization struct {
	ID        int64         `gorm:"primaryKey" json:"id"`
	Name      string        `gorm:"size:255;not null" json:"name"`
	InboxRead InboxReadMode `gorm:"size:16;not null;default:manually" json:"inbox_read_mode"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// APIKey authenticates admin API calls for one organization. Only a SHA-256
// hash of the secret is stored; Prefix finds the row without scanning hashes.
type APIKey struct {
	ID             int64      `gorm:"primaryKey" json:"id"`
	OrganizationID int64      `gorm:"not null;index" json:"organization_id"`
	Name           string     `gorm:"size:255;not null" json:"name"`
	Prefix         string     `gorm:"size:16;not null;uniqueIndex" json:"prefix"`
	Hash           string     `gorm:"size:64;not null" json:"-"`
	LastUsedAt     *time.Time `json:"last_used_at,omitempty"`
	RevokedAt      *time.Time `json:"revoked_at,omitempty"`
	// ReadOnly keys may read but not change anything (403 on writes).
	ReadOnly  bool      `gorm:"not null;default:false" json:"read_only"`
	CreatedAt time.Time `json:"created_at"`
}

// Administration is one ledger of an organization, with its send settings
// (seeds 000, 002) and the company details that templates print.
type Administration struct {
	ID             int64  `gorm:"primaryKey" json:"id"`
	OrganizationID int64  `gorm:"not null;index" json:"organization_id"`
	Name           string `gorm:"size:255;not null" json:"name"`
	// Country is ISO 3166 alpha-2; it picks the holiday calendar of the send window.
	Country  string `gorm:"size:2;not null;default:NL" json:"country"`
	TimeZone string `gorm:"size:64;not null;default:Europe/Amsterdam" json:"time_zone"`
	Currency string `gorm:"size:3;not null;default:EUR" json:"currency"`
	Language string `gorm:"size:2;not null;default:nl" json:"language"`

	AdministrationSettings `gorm:"embedded"`
	CompanyDetails         `gorm:"embedded"`

	DefaultJourneyID *int64 `json:"default_journey_id,omitempty"`
	// ArchivedAt is set when the administration is archived: it starts no
	// more journeys and lists leave it out unless asked.
	ArchivedAt *time.Time `json:"archived_at,omitempty"`
	// DetailsMissing flags an administration whose templates need company
	// details it lacks (comma-separated field names, as the sending activity
	// found them): the steps that need them are held, not sent blank.
	// Changing the company details clears it.
	DetailsMissing string    `gorm:"size:512" json:"details_missing,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// AdministrationSettings are the administration-wide send settings; they are
// read again each time a step is sent (docs/domain.md §1.2).
type AdministrationSettings struct {
	PostalEnabled        bool `gorm:"not null" json:"postal_enabled"`
	FinalReminderByPost  bool `gorm:"not null" json:"final_reminder_by_post"`
	SMSEnabled           bool `gorm:"column:sms_enabled;not null" json:"sms_enabled"`
	CollectionSMSEnabled bool `gorm:"column:collection_sms_enabled;not null" json:"collection_sms_enabled"`
	StatementSMSEnabled  bool `gorm:"column:statement_sms_enabled;not null" json:"statement_sms_enabled"`
	UseProvidedEmail     bool `gorm:"not null" json:"use_provided_email"`
	// AskEmailOnInvoiceLetters and AskEmailOnReminderLetters print the request
	// to give an email address on the portal in letters (seed 001).
	AskEmailOnInvoiceLetters  bool `gorm:"not null" json:"ask_email_on_invoice_letters"`
	AskEmailOnReminderLetters bool `gorm:"not null" json:"ask_email_on_reminder_letters"`
	// CustomerMinGapDays is the least number of days between two bundles of
	// reminders to one customer (docs/bundling.md); 0: no gap.
	CustomerMinGapDays int `gorm:"not null" json:"customer_min_gap_days"`
	// SendWindowStart and SendWindowEnd are the business hours (local) in which steps go out.
	SendWindowStart int `gorm:"not null" json:"send_window_start"`
	SendWindowEnd   int `gorm:"not null" json:"send_window_end"`
	// LateEntry says where an invoice whose steps are already past when its
	// journey starts (a late import) enters: at the latest step due, or at
	// most at LateEntryMaxStep (the default, gentler for a first import).
	LateEntry LateEntry `gorm:"size:16;not null;default:capped" json:"late_entry"`
	// LateEntryMaxStep is the furthest step kind (invoice, reminder,
	// final_reminder, collection) a capped late entry starts at.
	LateEntryMaxStep string `gorm:"size:32;not null;default:reminder" json:"late_entry_max_step"`
	// Bundling on sends a customer one message per channel for all its
	// invoices whose reminders fall in one send window, at least
	// CustomerMinGapDays apart (docs/bundling.md); off, one per invoice.
	Bundling Bundling `gorm:"size:8;not null;default:on" json:"bundling"`

	CollectionSettings `gorm:"embedded"`
	StatementSettings  `gorm:"embedded"`
}

// StatementSettings schedule the open-items statement of an administration
// (docs/domain.md §1.6): a Temporal Schedule sends every customer with open
// items its statement once per period.
type StatementSettings struct {
	// StatementSchedule is off (the default), monthly or weekly.
	StatementSchedule StatementSchedule `gorm:"size:16;not null;default:off" json:"statement_schedule"`
	// StatementDay is the day of the run: 1–28 of the month for monthly,
	// 1 (Monday) – 7 (Sunday) for weekly; 0 with off.
	StatementDay int `gorm:"not null;default:0" json:"statement_day"`
}

// StatementSchedule is how often statements go out on their own.
type StatementSchedule string

// The statement schedules.
const (
	StatementOff     StatementSchedule = "off"
	StatementMonthly StatementSchedule = "monthly"
	StatementWeekly  StatementSchedule = "weekly"
)

// Valid reports whether s is a known schedule.
func (s StatementSchedule) Valid() bool {
	return s == StatementOff || s == StatementMonthly || s == StatementWeekly
}

// CollectionSettings steer the collection procedure of an administration
// (docs/domain.md §1.5).
type CollectionSettings struct {
	// InterestRateBP is the statutory late-payment interest a year, in basis
	// points (1015 = 10.15 %: the EU commercial rate, the ECB reference rate
	// of 2.15 % plus 8 points, in force from July 2025). 0 charges none.
	InterestRateBP int64 `gorm:"column:interest_rate_bp;not null;default:0" json:"interest_rate_bp"`
	// CaseStageDays is the number of (journey) days between two stages of a
	// collection case. A consumer's last notice never comes before the
	// WIK's 14 days have run (costs.CostsDueFrom).
	CaseStageDays int `gorm:"not null;default:0" json:"case_stage_days"`
	// AgencyWebhookURL receives a case handed over to the collection agency
	// as signed JSON (HMAC-SHA256 of the body with AgencyWebhookSecret, in
	// the X-Relance-Signature header); empty: the case file is downloaded
	// from the API instead.
	AgencyWebhookURL    string `gorm:"size:512" json:"agency_webhook_url"`
	AgencyWebhookSecret string `gorm:"size:128" json:"-"`
}

// LateEntry is the administration's rule for invoices imported late.
type LateEntry string

// Late-entry rules.
const (
	// LateEntryLatestDue enters at the latest step that is due: an invoice
	// imported 60 days overdue may get a notice of default as its first
	// message.
	LateEntryLatestDue LateEntry = "latest_due"
	// LateEntryCapped never enters beyond LateEntryMaxStep: the journey
	// starts at the latest due step of at most that kind, and the steps
	// after it keep their spacing from there.
	LateEntryCapped LateEntry = "capped"
)

// Valid reports whether e is a known rule.
func (e LateEntry) Valid() bool { return e == LateEntryLatestDue || e == LateEntryCapped }

// CompanyDetails are what letters and #company_* tags print.
type CompanyDetails struct {
	CompanyName     string `gorm:"size:255" json:"company_name"`
	CompanyAddress  string `gorm:"size:512" json:"company_address"`
	CompanyPhone    string `gorm:"size:64" json:"company_phone"`
	CompanyEmail    string `gorm:"size:255" json:"company_email"`
	CompanyWebsite  string `gorm:"size:255" json:"company_website"`
	CompanyLogoURL  string `gorm:"size:512" json:"company_logo_url"`
	LegalID         string `gorm:"size:64" json:"legal_id"`
	BankDetails     string `gorm:"size:255" json:"bank_details"`
	LatePenaltyRate string `gorm:"size:32" json:"late_penalty_rate"`
	SenderName      string `gorm:"size:255" json:"sender_name"`
	SenderEmail     string `gorm:"size:255" json:"sender_email"`
	ReplyToEmail    string `gorm:"size:255" json:"reply_to_email"`
	SMSSender       string `gorm:"column:sms_sender;size:16" json:"sms_sender"`
	UserName        string `gorm:"size:255" json:"user_name"`
	UserEmail       string `gorm:"size:255" json:"user_email"`
	UserPhone       string `gorm:"size:64" json:"user_phone"`

	// BCCEmail receives a blind copy of every email to a customer, for
	// the administration's own archive; it never shows in the headers.
	BCCEmail string `gorm:"column:bcc_email;size:255" json:"bcc_email"`
}

// Customer is a debtor of an administration, keyed by the accounting
// software's reference.
type Customer struct {
	ID               int64  `gorm:"primaryKey" json:"id"`
	AdministrationID int64  `gorm:"not null;uniqueIndex:ux_customer_ref,priority:1" json:"administration_id"`
	ExternalRef      string `gorm:"size:255;not null;uniqueIndex:ux_customer_ref,priority:2" json:"external_ref"`
	Name             string `gorm:"size:255;not null" json:"name"`
	LegalID          string `gorm:"size:64" json:"legal_id"`
	Language         string `gorm:"size:2;not null;default:nl" json:"language"`

	Email string `gorm:"size:255" json:"email"`
	// ProvidedEmail is an address the customer gave through the portal; it is
	// not used until accepted (or use_provided_email is on), seed 001.
	ProvidedEmail   string     `gorm:"size:255;index" json:"provided_email,omitempty"`
	ProvidedEmailAt *time.Time `json:"provided_email_at,omitempty"`
	// BouncedEmail is the last address of the customer's that hard-bounced:
	// channel choice does not use an address equal to it, so the next
	// message goes by post; a new address (import, admin) is used again.
	BouncedEmail string `gorm:"size:255" json:"bounced_email,omitempty"`
	Phone        string `gorm:"size:64" json:"phone"`
	// Mobile is Phone parsed in the customer's country, E.164, empty when not a mobile.
	Mobile string `gorm:"size:20" json:"mobile"`

	AddressLine1 string `gorm:"size:255" json:"address_line1"`
	AddressLine2 string `gorm:"size:255" json:"address_line2"`
	PostalCode   string `gorm:"size:32" json:"postal_code"`
	City         string `gorm:"size:128" json:"city"`
	Country      string `gorm:"size:2" json:"country"`

	CustomerSendSettings `gorm:"embedded"`

	// Type is business or consumer: it decides the collection costs (the EU
	// fixed 40 EUR or the Dutch WIK scale) and the consumer's 14-day letter.
	Type CustomerType `gorm:"column:customer_type;size:16;not null;default:business" json:"customer_type"`

	JourneyID *int64 `json:"journey_id,omitempty"`
	// PortalToken is the random part of the customer's personal portal link.
	PortalToken string `gorm:"size:64;not null;uniqueIndex" json:"-"`
	// PortalCode is the customer's short code (portal.NewCode), typed on the
	// portal's home page from a letter or an SMS; rotated with PortalToken.
	// Filled on create (db.Open registers the callback) so that no insert
	// path forgets it.
	PortalCode *string `gorm:"size:16;uniqueIndex" json:"-"`
	// PortalRevokedAt is set when an admin revoked the customer's portal
	// access: no link or code opens it until a new link is made.
	PortalRevokedAt *time.Time `json:"portal_revoked_at,omitempty"`

	PausedAt    *time.Time `json:"paused_at,omitempty"`
	PausedUntil *time.Time `json:"paused_until,omitempty"`
	PauseReason string     `gorm:"size:255" json:"pause_reason,omitempty"`
	// LastRemindedAt is when the customer's last bundle of reminders went
	// out (on the bundle's clock): the next waits CustomerMinGapDays after it.
	LastRemindedAt *time.Time `json:"last_reminded_at,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Contact is a contact person of a customer: the emails of the kinds its
// roles name go to it (docs/domain.md §1.2, who receives what), as a
// recipient or, when CC is set, in copy.
type Contact struct {
	ID         int64  `gorm:"primaryKey" json:"id"`
	CustomerID int64  `gorm:"not null;index" json:"customer_id"`
	Name       string `gorm:"size:255" json:"name"`
	Email      string `gorm:"size:255;not null" json:"email"`
	Phone      string `gorm:"size:64" json:"phone"`
	// Language is the contact's language when known (nl, fr, en, de); the
	// messages are written in the customer's language.
	Language string `gorm:"size:2" json:"language,omitempty"`
	// Roles say which messages the contact receives.
	Roles ContactRoles `gorm:"size:128;not null" json:"roles"`
	// CC puts the contact in copy (Cc) instead of among the recipients.
	CC bool `gorm:"column:cc;not null;default:false" json:"cc"`
	// BouncedEmail is the contact's address when it hard-bounced: it is not
	// used again until the address changes.
	BouncedEmail string `gorm:"size:255" json:"bounced_email,omitempty"`
	// Source is "api" or "import": an import updates only the contacts it
	// wrote itself (ImportSlot tells which of its columns wrote it).
	Source     string    `gorm:"size:16;not null;default:api" json:"source"`
	ImportSlot string    `gorm:"size:16" json:"-"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// MaxContacts is the most contact persons a customer may have: enough for
// any accounts department, few enough to keep a message's recipients short.
const MaxContacts = 10

// ContactRoles is a contact's list of roles, stored as a JSON array.
type ContactRoles []policy.ContactRole

// Has reports whether r holds role.
func (r ContactRoles) Has(role policy.ContactRole) bool {
	for _, x := range r {
		if x == role {
			return true
		}
	}
	return false
}

// Value stores the roles as a JSON array.
func (r ContactRoles) Value() (driver.Value, error) { return jsonList(r) }

// Scan reads a JSON array.
func (r *ContactRoles) Scan(v any) error { return scanJSONList(v, r) }

// AddressList is a list of email addresses, stored as a JSON array.
type AddressList []string

// Value stores the list as a JSON array ("" when empty).
func (l AddressList) Value() (driver.Value, error) { return jsonList(l) }

// Scan reads a JSON array.
func (l *AddressList) Scan(v any) error { return scanJSONList(v, l) }

// GormDataType is text: a list has no useful size limit.
func (AddressList) GormDataType() string { return "text" }

func jsonList[T any](l []T) (driver.Value, error) {
	if len(l) == 0 {
		return "", nil
	}
	b, err := json.Marshal(l)
	return string(b), err
}

func scanJSONList[T any](v any, out *T) error {
	var b []byte
	switch x := v.(type) {
	case nil:
	case string:
		b = []byte(x)
	case []byte:
		b = x
	default:
		return fmt.Errorf("scan a list from %T", v)
	}
	var zero T
	*out = zero
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, out)
}

// CustomerType says whether a customer is a business or a consumer.
type CustomerType string

// Customer types.
const (
	CustomerBusiness CustomerType = "business"
	CustomerConsumer CustomerType = "consumer"
)

// Valid reports whether t is a known type.
func (t CustomerType) Valid() bool { return t == CustomerBusiness || t == CustomerConsumer }

// CustomerSendSettings are a customer's channel toggles (seed 002).
type CustomerSendSettings struct {
	SendInvoicesByEmail  bool `gorm:"not null" json:"send_invoices_by_email"`
	SendRemindersByEmail bool `gorm:"not null" json:"send_reminders_by_email"`
	SendByPost           bool `gorm:"not null" json:"send_by_post"`
	SendSMS              bool `gorm:"column:send_sms;not null" json:"send_sms"`
}

// HasPostalAddress reports whether a letter can be addressed to the customer.
func (c *Customer) HasPostalAddress() bool {
	return c.AddressLine1 != "" && c.City != ""
}

// InvoiceStatus is where an invoice stands in the ledger.
type InvoiceStatus string

// Invoice statuses.
const (
	InvoiceOpen     InvoiceStatus = "open"
	InvoicePaid     InvoiceStatus = "paid"
	InvoiceCredited InvoiceStatus = "credited"
)

// Valid reports whether s is a known status.
func (s InvoiceStatus) Valid() bool {
	switch s {
	case InvoiceOpen, InvoicePaid, InvoiceCredited:
		return true
	}
	return false
}

// Invoice is one accounting document of a customer; its collection journey is
// the workflow named by WorkflowID.
type Invoice struct {
	ID               int64         `gorm:"primaryKey" json:"id"`
	AdministrationID int64         `gorm:"not null;uniqueIndex:ux_invoice_number,priority:1" json:"administration_id"`
	CustomerID       int64         `gorm:"not null;index" json:"customer_id"`
	Number           string        `gorm:"size:255;not null;uniqueIndex:ux_invoice_number,priority:2" json:"number"`
	IssueDate        time.Time     `gorm:"not null" json:"issue_date"`
	DueDate          time.Time     `gorm:"not null;index" json:"due_date"`
	Currency         string        `gorm:"size:3;not null" json:"currency"`
	AmountMinor      int64         `gorm:"not null" json:"amount_minor"`
	OpenMinor        int64         `gorm:"not null" json:"open_minor"`
	Status           InvoiceStatus `gorm:"size:16;not null;default:open;index" json:"status"`
	// Stage mirrors the journey's stage (kept by the sending activity) so lists can filter on it.
	Stage      string `gorm:"size:32;not null;default:scheduled;index" json:"stage"`
	WorkflowID string `gorm:"size:255;not null" json:"workflow_id"`
	CaseID     *int64 `json:"case_id,omitempty"`
	Disputed   bool   `gorm:"not null" json:"disputed"`
	// AttentionReason is set when a step could not go out (e.g. no_channel):
	// the invoice is listed for an admin's attention.
	AttentionReason string     `gorm:"size:255" json:"attention_reason,omitempty"`
	PausedAt        *time.Time `json:"paused_at,omitempty"`
	PausedUntil     *time.Time `json:"paused_until,omitempty"`
	PauseReason     string     `gorm:"size:255" json:"pause_reason,omitempty"`
	// PromisedUntil is the date the customer promised to pay by (in the
	// portal); the journey is paused until then. BrokenPromiseAt is set when
	// that date passed with the invoice unpaid: the journey went on at once
	// and the invoice is flagged (docs/domain.md, promise to pay).
	PromisedUntil   *time.Time `json:"promised_until,omitempty"`
	BrokenPromiseAt *time.Time `json:"broken_promise_at,omitempty"`
	// ImportedAmountMinor and ImportedOpenMinor are the amount and open
	// amount the last import brought (nil before any import wrote them): a
	// later file showing the same values is no newer than the payment
	// recorded in Relance since (see ledger.Import).
	ImportedAmountMinor *int64 `json:"-"`
	ImportedOpenMinor   *int64 `json:"-"`
	// Revision counts the changes of open amount and status. The journey's
	// invoice-updated signal carries it: signals sent after concurrent
	// changes may arrive out of order, and a journey ignores a stale one.
	Revision int64 `gorm:"not null;default:0" json:"revision"`
	// JourneyCycle numbers the journeys of this invoice (1: its first): an
	// invoice reopened after its journey ended gets the next cycle, under the
	// same workflow ID, and the cycle keeps its messages' outbox keys apart.
	// JourneyStarted says whether the current cycle's journey was started:
	// an open invoice without it (Temporal was down at the import, a start
	// failed) is started by the reconciler.
	JourneyCycle   int       `gorm:"not null;default:0" json:"journey_cycle"`
	JourneyStarted bool      `gorm:"not null;default:false;index" json:"journey_started"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Payment is money received against an invoice, registered through the API.
type Payment struct {
	ID          int64     `gorm:"primaryKey" json:"id"`
	InvoiceID   int64     `gorm:"not null;index" json:"invoice_id"`
	AmountMinor int64     `gorm:"not null" json:"amount_minor"`
	Currency    string    `gorm:"size:3;not null" json:"currency"`
	PaidAt      time.Time `gorm:"not null" json:"paid_at"`
	Reference   string    `gorm:"size:255" json:"reference"`
	CreatedAt   time.Time `json:"created_at"`
}

// Journey is an ordered list of steps ("parcours de relance").
type Journey struct {
	ID               int64         `gorm:"primaryKey" json:"id"`
	AdministrationID int64         `gorm:"not null;index" json:"administration_id"`
	Name             string        `gorm:"size:255;not null" json:"name"`
	MinGapDays       int           `gorm:"not null" json:"min_gap_days"`
	Steps            []JourneyStep `gorm:"constraint:OnDelete:CASCADE" json:"steps"`
	CreatedAt        time.Time     `json:"created_at"`
	UpdatedAt        time.Time     `json:"updated_at"`
}

// JourneyStep is one step of a journey, at OffsetDays from the due date.
type JourneyStep struct {
	ID         int64  `gorm:"primaryKey" json:"id"`
	JourneyID  int64  `gorm:"not null;index" json:"-"`
	Position   int    `gorm:"not null" json:"position"`
	OffsetDays int    `gorm:"not null" json:"offset_days"`
	Kind       string `gorm:"size:32;not null" json:"kind"`
	// Template names the template set used for this step; "default" is the shipped one.
	Template string `gorm:"size:64;not null;default:default" json:"template"`
}

// Template is an administration's text for one step kind, channel and language.
type Template struct {
	ID               int64  `gorm:"primaryKey" json:"id"`
	AdministrationID int64  `gorm:"not null;uniqueIndex:ux_template,priority:1" json:"administration_id"`
	Name             string `gorm:"size:64;not null;uniqueIndex:ux_template,priority:2" json:"name"`
	Kind             string `gorm:"size:32;not null;uniqueIndex:ux_template,priority:3" json:"kind"`
	Channel          string `gorm:"size:16;not null;uniqueIndex:ux_template,priority:4" json:"channel"`
	Language         string `gorm:"size:2;not null;uniqueIndex:ux_template,priority:5" json:"language"`
	Subject          string `gorm:"size:512" json:"subject"`
	Body             string `gorm:"type:text;not null" json:"body"`
	// Version counts the saves, from 1; each one is kept in TemplateVersion,
	// and a sent message names the version it was written from.
	Version   int       `gorm:"not null;default:1" json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TemplateVersion is the text of one saved version of a template, kept so
// that a message's template version can always be read back.
type TemplateVersion struct {
	ID         int64     `gorm:"primaryKey" json:"id"`
	TemplateID int64     `gorm:"not null;uniqueIndex:ux_template_version,priority:1" json:"template_id"`
	Version    int       `gorm:"not null;uniqueIndex:ux_template_version,priority:2" json:"version"`
	Subject    string    `gorm:"size:512" json:"subject"`
	Body       string    `gorm:"type:text;not null" json:"body"`
	CreatedAt  time.Time `json:"created_at"`
}

// MessageState is the outbox state of one message.
type MessageState string

// Outbox states: queued → sending → sent | failed | uncertain; skipped when no channel applies.
const (
	MessageQueued  MessageState = "queued"
	MessageSending MessageState = "sending"
	MessageSent    MessageState = "sent"
	MessageFailed  MessageState = "failed"
	MessageSkipped MessageState = "skipped"
	// MessageUncertain is a message whose send was cut off (worker killed after
	// handing it to the provider but before recording the answer): it is never
	// sent again automatically, and is shown to the admin instead.
	MessageUncertain MessageState = "uncertain"
)

// Message is an outbox and timeline row: one message on one channel. Key is
// unique (workflow ID + step + channel), so a retried send finds its row.
type Message struct {
	ID               int64        `gorm:"primaryKey" json:"id"`
	Key              string       `gorm:"size:255;not null;uniqueIndex" json:"key"`
	AdministrationID int64        `gorm:"not null;index" json:"administration_id"`
	CustomerID       int64        `gorm:"not null;index" json:"customer_id"`
	InvoiceID        *int64       `gorm:"index" json:"invoice_id,omitempty"`
	CaseID           *int64       `gorm:"index" json:"case_id,omitempty"`
	WorkflowID       string       `gorm:"size:255" json:"workflow_id"`
	Step             int          `gorm:"not null" json:"step"`
	Kind             string       `gorm:"size:32;not null" json:"kind"`
	Channel          string       `gorm:"size:16;not null" json:"channel"`
	State            MessageState `gorm:"size:16;not null;index" json:"state"`
	Reason           string       `gorm:"size:255" json:"reason,omitempty"`
	Manual           bool         `gorm:"not null" json:"manual"`
	Recipient        string       `gorm:"size:512" json:"recipient"`
	Subject          string       `gorm:"size:512" json:"subject"`
	BodyHTML         string       `gorm:"type:text" json:"body_html,omitempty"`
	BodyText         string       `gorm:"type:text" json:"body_text,omitempty"`
	Segments         int          `json:"segments,omitempty"`
	// TemplateID and TemplateVersion name the administration's template the
	// message was written from; nil and 0 for a shipped default.
	TemplateID      *int64     `json:"template_id,omitempty"`
	TemplateVersion int        `gorm:"not null;default:0" json:"template_version,omitempty"`
	ProviderID      string     `gorm:"size:255;index" json:"provider_id,omitempty"`
	DeliveryStatus  string     `gorm:"size:32" json:"delivery_status,omitempty"`
	DeliveryAt      *time.Time `json:"delivery_at,omitempty"`
	Attempts        int        `gorm:"not null" json:"attempts"`
	SentAt          *time.Time `json:"sent_at,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`

	// To, Cc and Bcc are the email addresses the message went to (the
	// envelope), as the channel choice and the administration's archive
	// copy made them; Recipient shows the To addresses in one line.
	To  AddressList `gorm:"column:to_addresses" json:"to,omitempty"`
	Cc  AddressList `gorm:"column:cc_addresses" json:"cc,omitempty"`
	Bcc AddressList `gorm:"column:bcc_addresses" json:"bcc,omitempty"`
}

// CaseStage is a stage of the collection procedure (seed 000).
type CaseStage string

// Collection stages.
const (
	CaseNoticeOfDefault CaseStage = "notice_of_default"
	CaseLastNotice      CaseStage = "last_notice"
	CaseAgency          CaseStage = "agency"
	CaseClosed          CaseStage = "closed"
)

// CollectionCase groups a customer's overdue invoices in one currency after
// their journeys ended; at most one case per customer and currency is open
// (stage other than closed), which a partial unique index enforces.
type CollectionCase struct {
	ID               int64 `gorm:"primaryKey" json:"id"`
	AdministrationID int64 `gorm:"not null;index" json:"administration_id"`
	CustomerID       int64 `gorm:"not null;index" json:"customer_id"`
	// Period is the month the case opened (YYYY-MM), for reports.
	Period   string    `gorm:"size:16;not null" json:"period"`
	Stage    CaseStage `gorm:"size:32;not null;index" json:"stage"`
	Currency string    `gorm:"size:3;not null" json:"currency"`
	// InterestMinor and CostsMinor are as computed for the last stage sent
	// (before any waiver); WaivedMinor is what an admin waived of them.
	InterestMinor int64      `gorm:"not null" json:"interest_minor"`
	CostsMinor    int64      `gorm:"not null" json:"costs_minor"`
	CostsWaived   bool       `gorm:"not null" json:"costs_waived"`
	WaivedMinor   int64      `gorm:"not null;default:0" json:"waived_minor"`
	WorkflowID    string     `gorm:"size:255" json:"workflow_id"`
	Paused        bool       `gorm:"not null;default:false" json:"paused"`
	Disputed      bool       `gorm:"not null;default:false" json:"disputed"`
	PausedAt      *time.Time `json:"paused_at,omitempty"`
	PausedUntil   *time.Time `json:"paused_until,omitempty"`
	PauseReason   string     `gorm:"size:255" json:"pause_reason,omitempty"`
	// NoticeAt is when the notice of default went out (the WIK's 14 days
	// run from it); HandedOverAt when the agency got the case.
	NoticeAt     *time.Time `json:"notice_at,omitempty"`
	HandedOverAt *time.Time `json:"handed_over_at,omitempty"`
	ClosedAt     *time.Time `json:"closed_at,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// CaseOpen is the stage of a case whose first notice has not gone out yet.
const CaseOpen CaseStage = "open"

// CaseInvoice is an invoice's membership of a case: it joins when its
// journey hands it over, and leaves when it is paid or credited.
type CaseInvoice struct {
	ID        int64 `gorm:"primaryKey" json:"id"`
	CaseID    int64 `gorm:"not null;uniqueIndex:ux_case_invoice,priority:1" json:"case_id"`
	InvoiceID int64 `gorm:"not null;uniqueIndex:ux_case_invoice,priority:2;index" json:"invoice_id"`
	// PrincipalMinor is the open amount when the invoice joined.
	PrincipalMinor int64      `gorm:"not null" json:"principal_minor"`
	JoinedAt       time.Time  `gorm:"not null" json:"joined_at"`
	LeftAt         *time.Time `json:"left_at,omitempty"`
	LeftReason     string     `gorm:"size:64" json:"left_reason,omitempty"`
}

// CaseEvent is one line of a case's timeline besides its messages: an
// invoice joining or leaving, a pause, a waiver, a dispute, the hand-over.
type CaseEvent struct {
	ID          int64     `gorm:"primaryKey" json:"id"`
	CaseID      int64     `gorm:"not null;index" json:"case_id"`
	Key         string    `gorm:"size:255;not null;uniqueIndex" json:"-"`
	Kind        string    `gorm:"size:32;not null" json:"kind"`
	Detail      string    `gorm:"size:512" json:"detail,omitempty"`
	AmountMinor int64     `gorm:"not null;default:0" json:"amount_minor,omitempty"`
	At          time.Time `gorm:"not null" json:"at"`
}

// InvoiceEventKind names what happened to an invoice outside its messages
// and payments (the timeline, docs/domain.md §1.7).
type InvoiceEventKind string

// Invoice events.
const (
	EventPaused          InvoiceEventKind = "paused"
	EventResumed         InvoiceEventKind = "resumed"
	EventDisputed        InvoiceEventKind = "disputed"
	EventDisputeResolved InvoiceEventKind = "dispute_resolved"
	EventEmailSubmitted  InvoiceEventKind = "email_submitted"
	EventImported        InvoiceEventKind = "imported"
)

// InvoiceEvent is one change of an invoice for its timeline, written in
// the transaction that makes the change (the journey's RecordSteering for
// pauses and disputes, the import, the email submission).
type InvoiceEvent struct {
	ID               int64            `gorm:"primaryKey"`
	AdministrationID int64            `gorm:"not null;index"`
	InvoiceID        int64            `gorm:"not null;index:idx_invoice_events_invoice_at,priority:1"`
	Kind             InvoiceEventKind `gorm:"size:32;not null"`
	Detail           string           `gorm:"size:512"`
	At               time.Time        `gorm:"not null;index:idx_invoice_events_invoice_at,priority:2"`
}

// Conversation is an inbox thread of a customer, optionally about an invoice or a case (seed 003).
type Conversation struct {
	ID               int64     `gorm:"primaryKey" json:"id"`
	OrganizationID   int64     `gorm:"not null;index" json:"organization_id"`
	AdministrationID int64     `gorm:"not null;index" json:"administration_id"`
	CustomerID       int64     `gorm:"not null;index" json:"customer_id"`
	InvoiceID        *int64    `gorm:"index" json:"invoice_id,omitempty"`
	CaseID           *int64    `gorm:"index" json:"case_id,omitempty"`
	Subject          string    `gorm:"size:255" json:"subject"`
	Unread           bool      `gorm:"not null;index" json:"unread"`
	LastMessageAt    time.Time `json:"last_message_at"`
	CreatedAt        time.Time `json:"created_at"`
}

// ConversationAbout is the condition (a SQL clause and its arguments) that
// finds conversations about exactly this invoice and case: nil means none,
// so two nils find the conversations about the account itself.
func ConversationAbout(invoiceID, caseID *int64) (string, []any) {
	clause, args := "invoice_id IS NULL", []any{}
	if invoiceID != nil {
		clause, args = "invoice_id = ?", append(args, *invoiceID)
	}
	if caseID != nil {
		return clause + " AND case_id = ?", append(args, *caseID)
	}
	return clause + " AND case_id IS NULL", args
}

// Direction tells who wrote an inbox message.
type Direction string

// Message directions.
const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// InboxMessage is one message of a conversation.
type InboxMessage struct {
	ID             int64     `gorm:"primaryKey" json:"id"`
	ConversationID int64     `gorm:"not null;index" json:"conversation_id"`
	Direction      Direction `gorm:"size:16;not null" json:"direction"`
	Channel        string    `gorm:"size:16;not null" json:"channel"`
	Author         string    `gorm:"size:255" json:"author"`
	Body           string    `gorm:"type:text;not null" json:"body"`
	ExternalID     string    `gorm:"size:255;index" json:"external_id,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
}

// InboxAttachment is a file that came with an inbound email. The bytes are
// kept in the database (bounded by the webhook's size limits, see
// docs/channels.md), so that a backup of the database is a backup of the
// inbox and no second store needs securing; an attachment over the
// per-file limit keeps its name, type and size with Refused saying why,
// and no bytes.
type InboxAttachment struct {
	ID             int64  `gorm:"primaryKey" json:"id"`
	InboxMessageID int64  `gorm:"not null;index" json:"inbox_message_id"`
	FileName       string `gorm:"size:255;not null" json:"file_name"`
	ContentType    string `gorm:"size:255;not null" json:"content_type"`
	// Size is the decoded size in bytes, whether or not the bytes were kept.
	Size   int64  `gorm:"not null" json:"size"`
	SHA256 string `gorm:"column:sha256;size:64" json:"sha256,omitempty"`
	Data   []byte `json:"-"`
	// Refused is why the bytes were not kept ("" when they were).
	Refused   string    `gorm:"size:255" json:"refused,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// ImportRun records one import and its report, for audit and idempotency.
type ImportRun struct {
	ID               int64     `gorm:"primaryKey" json:"id"`
	AdministrationID int64     `gorm:"not null;index" json:"administration_id"`
	FileSHA256       string    `gorm:"column:file_sha256;size:64;not null" json:"file_sha256"`
	Format           string    `gorm:"size:8;not null" json:"format"`
	FullSnapshot     bool      `gorm:"not null" json:"full_snapshot"`
	Report           string    `gorm:"type:text" json:"-"`
	CreatedAt        time.Time `json:"created_at"`
}

// ImportMapping is an administration's column mapping for imports: which
// column of its accounting software's export feeds which field, for the
// names Relance does not recognise by itself. Every later import uses it.
type ImportMapping struct {
	AdministrationID int64 `gorm:"primaryKey;autoIncrement:false" json:"administration_id"`
	// Columns is the mapping as JSON: {"field": "Column as written", ...}.
	Columns   string    `gorm:"type:text;not null" json:"-"`
	UpdatedAt time.Time `json:"updated_at"`
}

// All lists every entity, in dependency order, for migrations and tests.
func All() []any {
	return []any{
		&Organization{}, &APIKey{}, &Administration{}, &Journey{}, &JourneyStep{},
		&Customer{}, &Contact{}, &Invoice{}, &Payment{}, &Template{}, &TemplateVersion{}, &Message{},
		&CollectionCase{}, &CaseInvoice{}, &CaseEvent{}, &Conversation{}, &InboxMessage{}, &ImportRun{}, &ImportMapping{},
		&InboxAttachment{},
		&InvoiceEvent{}, &MinimumAmount{}, &BundleRequest{},
	}
}

// DefaultAdministrationSettings are the settings of a new administration.
// GORM skips zero values of columns with a default on insert, so defaults
// live here, not in struct tags.
func DefaultAdministrationSettings() AdministrationSettings {
	return AdministrationSettings{
		PostalEnabled: true, FinalReminderByPost: true, CollectionSMSEnabled: true,
		CustomerMinGapDays: 7, SendWindowStart: 9, SendWindowEnd: 17, Bundling: BundlingOn,
		LateEntry: LateEntryCapped, LateEntryMaxStep: "reminder",
		CollectionSettings: DefaultCollectionSettings(),
		StatementSettings:  StatementSettings{StatementSchedule: StatementOff},
	}
}

// DefaultCollectionSettings: the EU commercial interest rate in force from
// July 2025 and two weeks between the stages of a case.
func DefaultCollectionSettings() CollectionSettings {
	return CollectionSettings{InterestRateBP: 1015, CaseStageDays: 14}
}

// DefaultCustomerSendSettings are the toggles of a new customer: every channel on.
func DefaultCustomerSendSettings() CustomerSendSettings {
	return CustomerSendSettings{SendInvoicesByEmail: true, SendRemindersByEmail: true, SendByPost: true, SendSMS: true}
}

// ChannelSettings are the administration's settings that the channel choice
// (policy.Decide) reads.
func (a *Administration) ChannelSettings() policy.AdministrationSettings {
	s := a.AdministrationSettings
	return policy.AdministrationSettings{
		PostalEnabled: s.PostalEnabled, FinalReminderByPost: s.FinalReminderByPost,
		SMSEnabled: s.SMSEnabled, CollectionSMSEnabled: s.CollectionSMSEnabled,
		StatementSMSEnabled: s.StatementSMSEnabled, UseProvidedEmail: s.UseProvidedEmail,
	}
}

// ChannelSettings are the customer's data and toggles that the channel
// choice (policy.Decide) reads. The SMS number is Mobile (E.164, set when the
// phone parsed as a mobile); a row imported before Mobile existed falls back
// to the raw phone, which Decide parses and refuses when it is no mobile.
func (c *Customer) ChannelSettings(contacts ...policy.Contact) policy.CustomerSettings {
	mobile := c.Mobile
	if mobile == "" {
		mobile = c.Phone
	}
	return policy.CustomerSettings{
		Email: c.Email, ProvidedEmail: c.ProvidedEmail, BouncedEmail: c.BouncedEmail, Contacts: contacts,
		SendInvoicesByEmail: c.SendInvoicesByEmail, SendRemindersByEmail: c.SendRemindersByEmail,
		SendByPost: c.SendByPost, SendSMS: c.SendSMS, HasPostalAddress: c.HasPostalAddress(),
		Mobile: mobile, Country: c.Country,
	}
}

// PolicyContacts are the contacts as the channel choice reads them.
func PolicyContacts(cs []Contact) []policy.Contact {
	out := make([]policy.Contact, 0, len(cs))
	for _, c := range cs {
		out = append(out, policy.Contact{Email: c.Email, Roles: c.Roles, CC: c.CC, BouncedEmail: c.BouncedEmail})
	}
	return out
}

// StepList is the journey's steps ordered by position.
func (j *Journey) StepList() []journeys.Step {
	out := make([]journeys.Step, len(j.Steps))
	for _, s := range j.Steps {
		if s.Position >= 0 && s.Position < len(out) {
			out[s.Position] = journeys.Step{OffsetDays: s.OffsetDays, Kind: policy.StepKind(s.Kind), Template: s.Template}
		}
	}
	return out
}

// EffectiveJourneyID is the journey that applies to the customer: its own,
// else the administration's default, else 0 (the shipped default journey).
func (c *Customer) EffectiveJourneyID(adm *Administration) int64 {
	switch {
	case c.JourneyID != nil:
		return *c.JourneyID
	case adm.DefaultJourneyID != nil:
		return *adm.DefaultJourneyID
	}
	return 0
}

// GormDataType is a sized string column (see the field's size).
func (ContactRoles) GormDataType() string { return "string" }

// OperationKind names what an operation does.
type OperationKind string

// Operation kinds.
const (
	// OperationJourneyChange tells the running journeys of a changed journey
	// (or of a new default journey) to re-plan their future steps.
	OperationJourneyChange OperationKind = "journey_change"
)

// OperationState is where an operation stands.
type OperationState string

// Operation states: running → completed | failed.
const (
	OperationRunning   OperationState = "running"
	OperationCompleted OperationState = "completed"
	OperationFailed    OperationState = "failed"
)

// Operation is a long-running change that reaches many running journeys
// (GET /api/v1/operations/{id}): a workflow (WorkflowID) does the work in
// pages and writes its progress here, so that it can be followed after
// the request that started it has long answered.
type Operation struct {
	ID               int64          `gorm:"primaryKey" json:"id"`
	OrganizationID   int64          `gorm:"not null;index" json:"organization_id"`
	AdministrationID int64          `gorm:"not null;index" json:"administration_id"`
	Kind             OperationKind  `gorm:"size:32;not null" json:"kind"`
	JourneyID        *int64         `json:"journey_id,omitempty"`
	WorkflowID       string         `gorm:"size:255;not null" json:"workflow_id"`
	State            OperationState `gorm:"size:16;not null;default:running" json:"state"`
	// Total is how many running journeys the change concerned when it
	// began; Reached how many were told, Skipped how many had ended
	// meanwhile, Errors how many could not be told after retries.
	Total      int        `gorm:"not null;default:0" json:"total"`
	Reached    int        `gorm:"not null;default:0" json:"reached"`
	Skipped    int        `gorm:"not null;default:0" json:"skipped"`
	Errors     int        `gorm:"not null;default:0" json:"errors"`
	LastError  string     `gorm:"type:text" json:"last_error,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}
