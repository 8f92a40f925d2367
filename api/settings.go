package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/schedule"
)

func init() {
	routes = append(routes, func(s *Server, g *gin.RouterGroup) {
		g.GET("/administrations", s.listAdministrations)
		g.GET("/administrations/:id", s.getAdministration)
		g.PATCH("/administrations/:id/settings", s.patchAdministrationSettings)
		g.PATCH("/customers/:id/send-settings", s.patchCustomerSendSettings)
	})
}

func (s *Server) listAdministrations(c *gin.Context) {
	page, err := paginate(s.DB.WithContext(c.Request.Context()).Where("organization_id = ?", orgID(c)), c,
		func(a models.Administration) int64 { return a.ID })
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

func (s *Server) getAdministration(c *gin.Context) {
	adm, err := s.pathAdministration(c)
	if err != nil {
		fail(c, err)
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
	// its journey (see models.AdministrationSettings).
	LateEntry        *models.LateEntry `json:"late_entry"`
	LateEntryMaxStep *string           `json:"late_entry_max_step"`
}

func (p AdministrationSettingsPatch) apply(adm *models.Administration) (map[string]any, error) {
	upd := map[string]any{}
	set := func(col string, v *bool, dst *bool) {
		if v != nil {
			*dst = *v
			upd[col] = *v
		}
	}
	st := &adm.AdministrationSettings
	set("postal_enabled", p.PostalEnabled, &st.PostalEnabled)
	set("final_reminder_by_post", p.FinalReminderByPost, &st.FinalReminderByPost)
	set("sms_enabled", p.SMSEnabled, &st.SMSEnabled)
	set("collection_sms_enabled", p.CollectionSMSEnabled, &st.CollectionSMSEnabled)
	set("statement_sms_enabled", p.StatementSMSEnabled, &st.StatementSMSEnabled)
	set("use_provided_email", p.UseProvidedEmail, &st.UseProvidedEmail)
	set("ask_email_on_invoice_letters", p.AskEmailOnInvoiceLetters, &st.AskEmailOnInvoiceLetters)
	set("ask_email_on_reminder_letters", p.AskEmailOnReminderLetters, &st.AskEmailOnReminderLetters)
	if v := p.CustomerMinGapDays; v != nil {
		if *v < 0 || *v > 90 {
			return nil, ruleBroken("customer_min_gap_days", "must be between 0 and 90")
		}
		st.CustomerMinGapDays, upd["customer_min_gap_days"] = *v, *v
	}
	if p.LateEntry != nil {
		if !p.LateEntry.Valid() {
			return nil, badInput("late_entry", "must be %q or %q", models.LateEntryCapped, models.LateEntryLatestDue)
		}
		st.LateEntry, upd["late_entry"] = *p.LateEntry, *p.LateEntry
	}
	if p.LateEntryMaxStep != nil {
		if !policy.LateEntryStep(policy.StepKind(*p.LateEntryMaxStep)) {
			return nil, badInput("late_entry_max_step", "must be one of invoice, reminder, final_reminder, collection")
		}
		st.LateEntryMaxStep, upd["late_entry_max_step"] = *p.LateEntryMaxStep, *p.LateEntryMaxStep
	}
	if p.SendWindowStart != nil {
		st.SendWindowStart, upd["send_window_start"] = *p.SendWindowStart, *p.SendWindowStart
	}
	if p.SendWindowEnd != nil {
		st.SendWindowEnd, upd["send_window_end"] = *p.SendWindowEnd, *p.SendWindowEnd
	}
	if err := (schedule.Window{StartHour: st.SendWindowStart, EndHour: st.SendWindowEnd}).Validate(); err != nil {
		return nil, ruleBroken("send_window_start", "%v", err)
	}
	if p.Country != nil {
		cc := strings.ToUpper(strings.TrimSpace(*p.Country))
		if len(cc) != 2 || !schedule.HasHolidayCalendar(cc) {
			return nil, ruleBroken("country", "%q has no holiday calendar here (NL, BE, FR, DE, GB)", *p.Country)
		}
		adm.Country, upd["country"] = cc, cc
	}
	if p.TimeZone != nil {
		if _, err := time.LoadLocation(*p.TimeZone); err != nil || *p.TimeZone == "" {
			return nil, badInput("time_zone", "%q is not an IANA time zone", *p.TimeZone)
		}
		adm.TimeZone, upd["time_zone"] = *p.TimeZone, *p.TimeZone
	}
	if p.Language != nil {
		if !validLanguage(*p.Language) {
			return nil, badInput("language", "must be one of nl, fr, en, de")
		}
		adm.Language, upd["language"] = *p.Language, *p.Language
	}
	str := func(col, field string, v *string, dst *string, max int) error {
		if v == nil {
			return nil
		}
		if len(*v) > max {
			return badInput(field, "is longer than %d characters", max)
		}
		*dst, upd[col] = *v, *v
		return nil
	}
	cd := &adm.CompanyDetails
	for _, e := range []error{
		str("sender_name", "sender_name", p.SenderName, &cd.SenderName, 255),
		str("sender_email", "sender_email", p.SenderEmail, &cd.SenderEmail, 255),
		str("reply_to_email", "reply_to_email", p.ReplyToEmail, &cd.ReplyToEmail, 255),
		str("sms_sender", "sms_sender", p.SMSSender, &cd.SMSSender, 11),
	} {
		if e != nil {
			return nil, e
		}
	}
	return upd, nil
}

func validLanguage(l string) bool {
	switch l {
	case "nl", "fr", "en", "de":
		return true
	}
	return false
}

func (s *Server) patchAdministrationSettings(c *gin.Context) {
	adm, err := s.pathAdministration(c)
	if err != nil {
		fail(c, err)
		return
	}
	var p AdministrationSettingsPatch
	if err := decode(c, &p); err != nil {
		fail(c, err)
		return
	}
	upd, err := p.apply(adm)
	if err != nil {
		fail(c, err)
		return
	}
	if len(upd) > 0 {
		if err := s.DB.WithContext(c.Request.Context()).Model(&models.Administration{}).Where("id = ?", adm.ID).Updates(upd).Error; err != nil {
			fail(c, fmt.Errorf("update settings of administration %d: %w", adm.ID, err))
			return
		}
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
	id, p, ok := idAndBody[CustomerSendSettingsPatch](c)
	if !ok {
		return
	}
	cust, err := s.customer(c, id)
	if err != nil {
		fail(c, err)
		return
	}
	upd := map[string]any{}
	set := func(col string, v *bool, dst *bool) {
		if v != nil {
			*dst, upd[col] = *v, *v
		}
	}
	set("send_invoices_by_email", p.SendInvoicesByEmail, &cust.SendInvoicesByEmail)
	set("send_reminders_by_email", p.SendRemindersByEmail, &cust.SendRemindersByEmail)
	set("send_by_post", p.SendByPost, &cust.SendByPost)
	set("send_sms", p.SendSMS, &cust.SendSMS)
	if len(upd) > 0 {
		if err := s.DB.WithContext(c.Request.Context()).Model(&models.Customer{}).Where("id = ?", cust.ID).Updates(upd).Error; err != nil {
			fail(c, fmt.Errorf("update send settings of customer %d: %w", cust.ID, err))
			return
		}
	}
	c.JSON(http.StatusOK, CustomerSendSettingsView{CustomerSendSettings: cust.CustomerSendSettings, Email: cust.Email, ProvidedEmail: cust.ProvidedEmail, Mobile: cust.Mobile})
}
