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
	s.answerAdministration(c, http.StatusOK, adm)
}

// answerAdministration answers adm as the API serves it, with its minimum
// amounts.
func (s *Server) answerAdministration(c *gin.Context, status int, adm *models.Administration) {
	mins, err := s.App.MinimumAmounts(c.Request.Context(), []int64{adm.ID})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(status, administrationView(adm, mins[adm.ID]))
}

func (s *Server) patchAdministrationSettings(c *gin.Context) {
	adm, p, ok := objectAndBody[*models.Administration, domain.AdministrationSettingsPatch](c, s.administration, true)
	if !ok {
		return
	}
	if err := s.App.PatchAdministrationSettings(c.Request.Context(), adm, p); err != nil {
		fail(c, err)
		return
	}
	s.answerAdministration(c, http.StatusOK, adm)
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
