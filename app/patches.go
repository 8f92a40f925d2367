package app

import (
	"context"
	"strings"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
)

// apply validates the patch against cust and returns the columns to write;
// cust is changed only when everything is valid.
func applyCustomerPatch(p domain.CustomerPatch, cust *models.Customer) (map[string]any, error) {
	upd := map[string]any{}
	next := *cust
	text := func(col string, v *string, dst *string, max int, required bool) error {
		if v == nil {
			return nil
		}
		t := strings.TrimSpace(*v)
		switch {
		case required && t == "":
			return domain.Invalid(col, "must not be empty")
		case len(t) > max:
			return domain.Invalid(col, "is longer than %d characters", max)
		case strings.ContainsAny(t, "\x00\r\n\t"):
			return domain.Invalid(col, "contains control characters")
		}
		*dst, upd[col] = t, t
		return nil
	}
	for _, e := range []error{
		text("name", p.Name, &next.Name, 255, true),
		text("legal_id", p.LegalID, &next.LegalID, 64, false),
		text("address_line1", p.AddressLine1, &next.AddressLine1, 255, false),
		text("address_line2", p.AddressLine2, &next.AddressLine2, 255, false),
		text("postal_code", p.PostalCode, &next.PostalCode, 32, false),
		text("city", p.City, &next.City, 128, false),
		text("phone", p.Phone, &next.Phone, 64, false),
	} {
		if e != nil {
			return nil, e
		}
	}
	if p.Language != nil {
		if !domain.ValidLanguage(*p.Language) {
			return nil, domain.Invalid("language", "must be one of nl, fr, en, de")
		}
		next.Language, upd["language"] = *p.Language, *p.Language
	}
	if p.CustomerType != nil {
		t := models.CustomerType(strings.TrimSpace(*p.CustomerType))
		if !t.Valid() {
			return nil, domain.Invalid("customer_type", "must be business or consumer, got %q", *p.CustomerType)
		}
		next.Type, upd["customer_type"] = t, t
	}
	if p.Country != nil {
		cc, err := domain.ValidCountry("country", *p.Country)
		if err != nil {
			return nil, err
		}
		next.Country, upd["country"] = cc, cc
	}
	if p.Email != nil {
		em, err := domain.ValidEmail("email", *p.Email)
		if err != nil {
			return nil, err
		}
		next.Email, upd["email"] = em, em
		// The address the customer gave is verified once it is the email (seed 001).
		if em != "" && next.ProvidedEmail != "" && sameEmail(em, next.ProvidedEmail) {
			next.ProvidedEmail, next.ProvidedEmailAt = "", nil
			upd["provided_email"], upd["provided_email_at"] = "", nil
		}
	}
	if p.Phone != nil || p.Country != nil {
		// SMS goes only to Mobile: parse the phone in the (new) country.
		m, err := ContactMobile(next.Phone, next.Country)
		if err != nil {
			field := "phone"
			if p.Phone == nil {
				field = "country"
			}
			return nil, domain.RuleBroken(field, "%v", err)
		}
		next.Mobile, upd["mobile"] = m, m
	}
	*cust = next
	return upd, nil
}

// PatchCustomer validates and applies p to cust. The next import overwrites
// what the accounting software holds for customers with an open invoice
// (seed 001). cust holds the stored row afterwards.
func (s *Service) PatchCustomer(ctx context.Context, cust *models.Customer, p domain.CustomerPatch) error {
	upd, err := applyCustomerPatch(p, cust)
	if err != nil {
		return err
	}
	return s.saveCustomer(ctx, cust, upd)
}

// PatchCustomerSendSettings applies p to cust; they apply from the next step sent.
func (s *Service) PatchCustomerSendSettings(ctx context.Context, cust *models.Customer, p domain.CustomerSendSettingsPatch) error {
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
	return s.saveCustomer(ctx, cust, upd)
}

// saveCustomer writes the columns upd of cust and reads the row back, so
// that the caller answers what is stored (updated_at included).
func (s *Service) saveCustomer(ctx context.Context, cust *models.Customer, upd map[string]any) error {
	if len(upd) > 0 {
		if err := s.db.WithContext(ctx).Model(&models.Customer{}).Where("id = ?", cust.ID).Updates(upd).Error; err != nil {
			return storeErr(err, "update customer %d", cust.ID)
		}
	}
	return storeErr(s.db.WithContext(ctx).First(cust, cust.ID).Error, "read customer %d back", cust.ID)
}

func applyAdministrationSettings(p domain.AdministrationSettingsPatch, adm *models.Administration) error {
	// The settings an administration shares with its creation and update
	// follow the same rules (applyAdministration).
	next := *adm
	detailsChanged, err := applyAdministration(domain.AdministrationInput{
		Country: p.Country, TimeZone: p.TimeZone, Language: p.Language,
		PostalEnabled: p.PostalEnabled, FinalReminderByPost: p.FinalReminderByPost, SMSEnabled: p.SMSEnabled,
		CollectionSMSEnabled: p.CollectionSMSEnabled, StatementSMSEnabled: p.StatementSMSEnabled,
		UseProvidedEmail: p.UseProvidedEmail, AskEmailOnInvoiceLetters: p.AskEmailOnInvoiceLetters,
		AskEmailOnReminderLetters: p.AskEmailOnReminderLetters, CustomerMinGapDays: p.CustomerMinGapDays,
		SendWindowStart: p.SendWindowStart, SendWindowEnd: p.SendWindowEnd,
		SenderName: p.SenderName, SenderEmail: p.SenderEmail, ReplyToEmail: p.ReplyToEmail, BCCEmail: p.BCCEmail, SMSSender: p.SMSSender,
		Bundling: p.Bundling,
	}, &next)
	if err != nil {
		return err
	}
	if detailsChanged {
		next.DetailsMissing = "" // the next step checks the details again
	}
	st := &next.AdministrationSettings
	if p.LateEntry != nil {
		if !p.LateEntry.Valid() {
			return domain.Invalid("late_entry", "must be %q or %q", models.LateEntryCapped, models.LateEntryLatestDue)
		}
		st.LateEntry = *p.LateEntry
	}
	if p.LateEntryMaxStep != nil {
		if !policy.LateEntryStep(policy.StepKind(*p.LateEntryMaxStep)) {
			return domain.Invalid("late_entry_max_step", "must be one of invoice, reminder, final_reminder, collection")
		}
		st.LateEntryMaxStep = *p.LateEntryMaxStep
	}
	if v := p.InterestRateBP; v != nil {
		if *v < 0 || *v > 10000 {
			return domain.RuleBroken("interest_rate_bp", "must be between 0 and 10000 (0 to 100 %%)")
		}
		st.InterestRateBP = *v
	}
	if v := p.CaseStageDays; v != nil {
		if *v < 1 || *v > 90 {
			return domain.RuleBroken("case_stage_days", "must be between 1 and 90")
		}
		st.CaseStageDays = *v
	}
	if v := p.AgencyWebhookURL; v != nil {
		u := strings.TrimSpace(*v)
		if u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return domain.Invalid("agency_webhook_url", "must be an http(s) URL or empty")
		}
		if len(u) > 512 {
			return domain.Invalid("agency_webhook_url", "is longer than 512 characters")
		}
		st.AgencyWebhookURL = u
	}
	if v := p.AgencyWebhookSecret; v != nil {
		if len(*v) > 128 {
			return domain.Invalid("agency_webhook_secret", "is longer than 128 characters")
		}
		st.AgencyWebhookSecret = *v
	}
	if v := p.StatementSchedule; v != nil {
		st.StatementSchedule = models.StatementSchedule(strings.ToLower(strings.TrimSpace(*v)))
	}
	if v := p.StatementDay; v != nil {
		st.StatementDay = *v
	}
	if p.StatementSchedule != nil || p.StatementDay != nil {
		if err := validStatementSchedule(&st.StatementSettings); err != nil {
			return err
		}
	}
	*adm = next
	return nil
}

// PatchAdministrationSettings validates and applies p to adm; adm holds the
// stored row afterwards.
func (s *Service) PatchAdministrationSettings(ctx context.Context, adm *models.Administration, p domain.AdministrationSettingsPatch) error {
	mins, err := minimumAmountChanges(p.MinimumAmounts)
	if err != nil {
		return err
	}
	if err := applyAdministrationSettings(p, adm); err != nil {
		return err
	}
	if p.StatementSchedule != nil || p.StatementDay != nil || (p.TimeZone != nil && adm.StatementSchedule != models.StatementOff) {
		// The Schedule first: with Temporal down the answer is 503 and
		// nothing is saved; the same call repeated does it all.
		if err := s.syncStatementSchedule(ctx, adm); err != nil {
			return err
		}
	}
	return s.saveAdministration(ctx, adm, mins)
}
