package api

import (
	"time"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
)

// The wire types of the stored objects. They are written out field by field
// so that a column added to a storage type (or a secret such as a token or a
// webhook secret) never reaches the API by accident: a field is served when
// it is named here and in the OpenAPI document.

// AdministrationView is an administration as the API serves it: identity,
// send settings, collection settings and the company details templates print.
type AdministrationView struct {
	ID             int64  `json:"id"`
	OrganizationID int64  `json:"organization_id"`
	Name           string `json:"name"`
	Country        string `json:"country"`
	TimeZone       string `json:"time_zone"`
	Currency       string `json:"currency"`
	Language       string `json:"language"`

	PostalEnabled             bool             `json:"postal_enabled"`
	FinalReminderByPost       bool             `json:"final_reminder_by_post"`
	SMSEnabled                bool             `json:"sms_enabled"`
	CollectionSMSEnabled      bool             `json:"collection_sms_enabled"`
	StatementSMSEnabled       bool             `json:"statement_sms_enabled"`
	UseProvidedEmail          bool             `json:"use_provided_email"`
	AskEmailOnInvoiceLetters  bool             `json:"ask_email_on_invoice_letters"`
	AskEmailOnReminderLetters bool             `json:"ask_email_on_reminder_letters"`
	CustomerMinGapDays        int              `json:"customer_min_gap_days"`
	SendWindowStart           int              `json:"send_window_start"`
	SendWindowEnd             int              `json:"send_window_end"`
	LateEntry                 models.LateEntry `json:"late_entry"`
	LateEntryMaxStep          string           `json:"late_entry_max_step"`
	InterestRateBP            int64            `json:"interest_rate_bp"`
	CaseStageDays             int              `json:"case_stage_days"`
	// AgencyWebhookURL is served; its secret is write-only.
	AgencyWebhookURL  string                   `json:"agency_webhook_url"`
	StatementSchedule models.StatementSchedule `json:"statement_schedule"`
	StatementDay      int                      `json:"statement_day"`
	// Bundling on sends a customer one message per channel for its
	// reminders of a send window (docs/bundling.md); off, one per invoice.
	Bundling models.Bundling `json:"bundling"`
	// MinimumAmounts: per currency, the least overdue total (minor units) a
	// customer is reminded of; a currency not named has no minimum.
	MinimumAmounts map[string]int64 `json:"minimum_amounts"`

	CompanyName     string `json:"company_name"`
	CompanyAddress  string `json:"company_address"`
	CompanyPhone    string `json:"company_phone"`
	CompanyEmail    string `json:"company_email"`
	CompanyWebsite  string `json:"company_website"`
	CompanyLogoURL  string `json:"company_logo_url"`
	LegalID         string `json:"legal_id"`
	BankDetails     string `json:"bank_details"`
	LatePenaltyRate string `json:"late_penalty_rate"`
	SenderName      string `json:"sender_name"`
	SenderEmail     string `json:"sender_email"`
	ReplyToEmail    string `json:"reply_to_email"`
	BCCEmail        string `json:"bcc_email"`
	SMSSender       string `json:"sms_sender"`
	UserName        string `json:"user_name"`
	UserEmail       string `json:"user_email"`
	UserPhone       string `json:"user_phone"`

	DefaultJourneyID *int64     `json:"default_journey_id,omitempty"`
	ArchivedAt       *time.Time `json:"archived_at,omitempty"`
	DetailsMissing   string     `json:"details_missing,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// administrationView is a's wire form with its minimum amounts (mins, by
// currency; nil is served as none).
func administrationView(a *models.Administration, mins map[string]int64) AdministrationView {
	s, d := a.AdministrationSettings, a.CompanyDetails
	if mins == nil {
		mins = map[string]int64{}
	}
	return AdministrationView{
		ID: a.ID, OrganizationID: a.OrganizationID, Name: a.Name, Country: a.Country,
		TimeZone: a.TimeZone, Currency: a.Currency, Language: a.Language,

		PostalEnabled: s.PostalEnabled, FinalReminderByPost: s.FinalReminderByPost,
		SMSEnabled: s.SMSEnabled, CollectionSMSEnabled: s.CollectionSMSEnabled,
		StatementSMSEnabled: s.StatementSMSEnabled, UseProvidedEmail: s.UseProvidedEmail,
		AskEmailOnInvoiceLetters: s.AskEmailOnInvoiceLetters, AskEmailOnReminderLetters: s.AskEmailOnReminderLetters,
		CustomerMinGapDays: s.CustomerMinGapDays, SendWindowStart: s.SendWindowStart, SendWindowEnd: s.SendWindowEnd,
		LateEntry: s.LateEntry, LateEntryMaxStep: s.LateEntryMaxStep,
		InterestRateBP: s.InterestRateBP, CaseStageDays: s.CaseStageDays, AgencyWebhookURL: s.AgencyWebhookURL,
		StatementSchedule: s.StatementSchedule, StatementDay: s.StatementDay,
		Bundling: s.Bundling, MinimumAmounts: mins,

		CompanyName: d.CompanyName, CompanyAddress: d.CompanyAddress, CompanyPhone: d.CompanyPhone,
		CompanyEmail: d.CompanyEmail, CompanyWebsite: d.CompanyWebsite, CompanyLogoURL: d.CompanyLogoURL,
		LegalID: d.LegalID, BankDetails: d.BankDetails, LatePenaltyRate: d.LatePenaltyRate,
		SenderName: d.SenderName, SenderEmail: d.SenderEmail, ReplyToEmail: d.ReplyToEmail, BCCEmail: d.BCCEmail, SMSSender: d.SMSSender,
		UserName: d.UserName, UserEmail: d.UserEmail, UserPhone: d.UserPhone,

		DefaultJourneyID: a.DefaultJourneyID, ArchivedAt: a.ArchivedAt, DetailsMissing: a.DetailsMissing,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
	}
}

// CustomerBody is a stored customer's fields as the API serves them; the
// portal token stays inside.
type CustomerBody struct {
	ID               int64  `json:"id"`
	AdministrationID int64  `json:"administration_id"`
	ExternalRef      string `json:"external_ref"`
	Name             string `json:"name"`
	LegalID          string `json:"legal_id"`
	Language         string `json:"language"`

	Email           string     `json:"email"`
	ProvidedEmail   string     `json:"provided_email,omitempty"`
	ProvidedEmailAt *time.Time `json:"provided_email_at,omitempty"`
	BouncedEmail    string     `json:"bounced_email,omitempty"`
	Phone           string     `json:"phone"`
	Mobile          string     `json:"mobile"`

	AddressLine1 string `json:"address_line1"`
	AddressLine2 string `json:"address_line2"`
	PostalCode   string `json:"postal_code"`
	City         string `json:"city"`
	Country      string `json:"country"`

	SendInvoicesByEmail  bool                `json:"send_invoices_by_email"`
	SendRemindersByEmail bool                `json:"send_reminders_by_email"`
	SendByPost           bool                `json:"send_by_post"`
	SendSMS              bool                `json:"send_sms"`
	Type                 models.CustomerType `json:"customer_type"`
	JourneyID            *int64              `json:"journey_id,omitempty"`

	PausedAt    *time.Time `json:"paused_at,omitempty"`
	PausedUntil *time.Time `json:"paused_until,omitempty"`
	PauseReason string     `json:"pause_reason,omitempty"`
	// PortalRevokedAt is set while an admin's revocation of the portal holds.
	PortalRevokedAt *time.Time `json:"portal_revoked_at,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

func customerBody(c *models.Customer) CustomerBody {
	return CustomerBody{
		ID: c.ID, AdministrationID: c.AdministrationID, ExternalRef: c.ExternalRef, Name: c.Name,
		LegalID: c.LegalID, Language: c.Language,
		Email: c.Email, ProvidedEmail: c.ProvidedEmail, ProvidedEmailAt: c.ProvidedEmailAt,
		BouncedEmail: c.BouncedEmail, Phone: c.Phone, Mobile: c.Mobile,
		AddressLine1: c.AddressLine1, AddressLine2: c.AddressLine2, PostalCode: c.PostalCode,
		City: c.City, Country: c.Country,
		SendInvoicesByEmail: c.SendInvoicesByEmail, SendRemindersByEmail: c.SendRemindersByEmail,
		SendByPost: c.SendByPost, SendSMS: c.SendSMS, Type: c.Type, JourneyID: c.JourneyID,
		PausedAt: c.PausedAt, PausedUntil: c.PausedUntil, PauseReason: c.PauseReason,
		PortalRevokedAt: c.PortalRevokedAt, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

// InvoiceBody is a stored invoice's fields as the API serves them; the
// import's bookkeeping stays inside.
type InvoiceBody struct {
	ID               int64                `json:"id"`
	AdministrationID int64                `json:"administration_id"`
	CustomerID       int64                `json:"customer_id"`
	Number           string               `json:"number"`
	IssueDate        time.Time            `json:"issue_date"`
	DueDate          time.Time            `json:"due_date"`
	Currency         string               `json:"currency"`
	AmountMinor      int64                `json:"amount_minor"`
	OpenMinor        int64                `json:"open_minor"`
	Status           models.InvoiceStatus `json:"status"`
	Stage            string               `json:"stage"`
	WorkflowID       string               `json:"workflow_id"`
	CaseID           *int64               `json:"case_id,omitempty"`
	Disputed         bool                 `json:"disputed"`
	AttentionReason  string               `json:"attention_reason,omitempty"`
	PausedAt         *time.Time           `json:"paused_at,omitempty"`
	PausedUntil      *time.Time           `json:"paused_until,omitempty"`
	PauseReason      string               `json:"pause_reason,omitempty"`
	// PromisedUntil is the date the customer promised to pay by in the
	// portal; BrokenPromiseAt is set when it passed unpaid.
	PromisedUntil   *time.Time `json:"promised_until,omitempty"`
	BrokenPromiseAt *time.Time `json:"broken_promise_at,omitempty"`
	// Revision counts the changes of open amount and status.
	Revision       int64     `json:"revision"`
	JourneyCycle   int       `json:"journey_cycle"`
	JourneyStarted bool      `json:"journey_started"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

func invoiceBody(i *models.Invoice) InvoiceBody {
	return InvoiceBody{
		ID: i.ID, AdministrationID: i.AdministrationID, CustomerID: i.CustomerID, Number: i.Number,
		IssueDate: i.IssueDate, DueDate: i.DueDate, Currency: i.Currency,
		AmountMinor: i.AmountMinor, OpenMinor: i.OpenMinor, Status: i.Status, Stage: i.Stage,
		WorkflowID: i.WorkflowID, CaseID: i.CaseID, Disputed: i.Disputed, AttentionReason: i.AttentionReason,
		PausedAt: i.PausedAt, PausedUntil: i.PausedUntil, PauseReason: i.PauseReason,
		PromisedUntil: i.PromisedUntil, BrokenPromiseAt: i.BrokenPromiseAt,
		Revision: i.Revision, JourneyCycle: i.JourneyCycle, JourneyStarted: i.JourneyStarted,
		CreatedAt: i.CreatedAt, UpdatedAt: i.UpdatedAt,
	}
}

// CaseView is a collection case as the API serves it.
type CaseView struct {
	ID               int64            `json:"id"`
	AdministrationID int64            `json:"administration_id"`
	CustomerID       int64            `json:"customer_id"`
	Period           string           `json:"period"`
	Stage            models.CaseStage `json:"stage"`
	Currency         string           `json:"currency"`
	InterestMinor    int64            `json:"interest_minor"`
	CostsMinor       int64            `json:"costs_minor"`
	CostsWaived      bool             `json:"costs_waived"`
	WaivedMinor      int64            `json:"waived_minor"`
	WorkflowID       string           `json:"workflow_id"`
	Paused           bool             `json:"paused"`
	Disputed         bool             `json:"disputed"`
	PausedAt         *time.Time       `json:"paused_at,omitempty"`
	PausedUntil      *time.Time       `json:"paused_until,omitempty"`
	PauseReason      string           `json:"pause_reason,omitempty"`
	NoticeAt         *time.Time       `json:"notice_at,omitempty"`
	HandedOverAt     *time.Time       `json:"handed_over_at,omitempty"`
	ClosedAt         *time.Time       `json:"closed_at,omitempty"`
	CreatedAt        time.Time        `json:"created_at"`
	UpdatedAt        time.Time        `json:"updated_at"`
}

func caseView(c *models.CollectionCase) CaseView {
	return CaseView{
		ID: c.ID, AdministrationID: c.AdministrationID, CustomerID: c.CustomerID, Period: c.Period,
		Stage: c.Stage, Currency: c.Currency, InterestMinor: c.InterestMinor, CostsMinor: c.CostsMinor,
		CostsWaived: c.CostsWaived, WaivedMinor: c.WaivedMinor, WorkflowID: c.WorkflowID,
		Paused: c.Paused, Disputed: c.Disputed, PausedAt: c.PausedAt, PausedUntil: c.PausedUntil,
		PauseReason: c.PauseReason, NoticeAt: c.NoticeAt, HandedOverAt: c.HandedOverAt, ClosedAt: c.ClosedAt,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

// CaseDetailView is a case with its invoices and, from its workflow, the
// stages that went out and the one to come.
type CaseDetailView struct {
	Case       CaseView             `json:"case"`
	Invoices   []domain.CaseInvoice `json:"invoices"`
	Stages     []domain.CaseStage   `json:"stages"`
	NextStage  string               `json:"next_stage,omitempty"`
	NextAt     *time.Time           `json:"next_at,omitempty"`
	StateError string               `json:"state_error,omitempty"`
}

// APIKeyView is an API key as listed: never its secret nor its hash.
type APIKeyView struct {
	ID             int64      `json:"id"`
	OrganizationID int64      `json:"organization_id"`
	Name           string     `json:"name"`
	Prefix         string     `json:"prefix"`
	ReadOnly       bool       `json:"read_only"`
	LastUsedAt     *time.Time `json:"last_used_at,omitempty"`
	RevokedAt      *time.Time `json:"revoked_at,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
}

func apiKeyView(k *models.APIKey) APIKeyView {
	return APIKeyView{
		ID: k.ID, OrganizationID: k.OrganizationID, Name: k.Name, Prefix: k.Prefix, ReadOnly: k.ReadOnly,
		LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt, CreatedAt: k.CreatedAt,
	}
}
