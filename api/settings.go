package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
)

func (s *Server) getAdministration(c *gin.Context) {
	adm, ok := object(c, s.administration)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, adm)
}

// AdministrationSettingsPatch changes an administration's send settings;
// absent fields stay as they are. They apply from the next step sent.
type AdministrationSettingsPatch struct {
	PostalEnabled             *bool   `json:"postal_enabled"`
	FinalReminderByPost       *bool   `json:"final_reminder_by_post"`
	SMSEnabled                *bool   `json:"sms_enabled"`
	CollectionSMSEnabled      *bool   `json:"collection_sms_enabled"`
	StatementSMSEnabled       *bool   `json:"statement_sms_enabled"`
	UseProvidedEmail          *bool   `json:"use_provided_email"`
	AskEmailOnInvoiceLetters  *bool   `json:"ask_email_on_invoice_letters"`
	AskEmailOnReminderLetters *bool   `json:"ask_email_on_reminder_letters"`
	CustomerMinGapDays        *int    `json:"customer_min_gap_days"`
	SendWindowStart           *int    `json:"send_window_start"`
	SendWindowEnd             *int    `json:"send_window_end"`
	Country                   *string `json:"country"`
	TimeZone                  *string `json:"time_zone"`
	Language                  *string `json:"language"`
	SenderName                *string `json:"sender_name"`
	SenderEmail               *string `json:"sender_email"`
	ReplyToEmail              *string `json:"reply_to_email"`
	SMSSender                 *string `json:"sms_sender"`
	// LateEntry and LateEntryMaxStep: where a late-imported invoice enters
	// its journey (capped, the default, or latest_due; the furthest step
	// kind a capped entry starts at).
	LateEntry        *models.LateEntry `json:"late_entry"`
	LateEntryMaxStep *string           `json:"late_entry_max_step"`
	// InterestRateBP is the statutory interest a year in basis points.
	InterestRateBP *int64 `json:"interest_rate_bp"`
	// CaseStageDays is the number of days between two stages of a case.
	CaseStageDays *int `json:"case_stage_days"`
	// AgencyWebhookURL receives cases handed over; AgencyWebhookSecret
	// signs them (write-only).
	AgencyWebhookURL    *string `json:"agency_webhook_url"`
	AgencyWebhookSecret *string `json:"agency_webhook_secret"`

	// BCCEmail receives a blind copy of every email to a customer (the
	// administration's archive), never named in the headers.
	BCCEmail *string `json:"bcc_email"`
}

func (s *Server) patchAdministrationSettings(c *gin.Context) {
	adm, p, ok := objectAndBody[*models.Administration, AdministrationSettingsPatch](c, s.administration, true)
	if !ok {
		return
	}
	if err := s.App.PatchAdministrationSettings(c.Request.Context(), adm, domain.AdministrationSettingsPatch(p)); err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, adm)
}

// CustomerSendSettingsPatch changes a customer's channel toggles (seed 002).
type CustomerSendSettingsPatch struct {
	SendInvoicesByEmail  *bool `json:"send_invoices_by_email"`
	SendRemindersByEmail *bool `json:"send_reminders_by_email"`
	SendByPost           *bool `json:"send_by_post"`
	SendSMS              *bool `json:"send_sms"`
}

// CustomerSendSettingsView is what the customer's send settings page shows,
// including a provided email waiting to be verified (seed 001).
type CustomerSendSettingsView struct {
	models.CustomerSendSettings
	Email         string `json:"email"`
	ProvidedEmail string `json:"provided_email,omitempty"`
	Mobile        string `json:"mobile"`
}

func (s *Server) patchCustomerSendSettings(c *gin.Context) {
	cust, p, ok := objectAndBody[*models.Customer, CustomerSendSettingsPatch](c, s.customer, true)
	if !ok {
		return
	}
	if err := s.App.PatchCustomerSendSettings(c.Request.Context(), cust, domain.CustomerSendSettingsPatch(p)); err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, CustomerSendSettingsView{CustomerSendSettings: cust.CustomerSendSettings, Email: cust.Email, ProvidedEmail: cust.ProvidedEmail, Mobile: cust.Mobile})
}
