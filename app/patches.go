package app

import (
	"context"
	"strings"
	"time"

	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/schedule"
)

// apply validates the patch against cust and returns the columns to write;
// cust is changed only when everything is valid.
func applyCustomerPatch(p CustomerPatch, cust *models.Customer) (map[string]any, error) {
	upd := map[string]any{}
	next := *cust
	text := func(col string, v *string, dst *string, max int, required bool) error {
		if v == nil {
			return nil
		}
		t := strings.TrimSpace(*v)
		switch {
		case required && t == "":
			return Invalid(col, "must not be empty")
		case len(t) > max:
			return Invalid(col, "is longer than %d characters", max)
		case strings.ContainsAny(t, "\x00\r\n\t"):
			return Invalid(col, "contains control characters")
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
		if !ValidLanguage(*p.Language) {
			return nil, Invalid("language", "must be one of nl, fr, en, de")
		}
		next.Language, upd["language"] = *p.Language, *p.Language
	}
	if p.Country != nil {
		cc, err := ValidCountry("country", *p.Country)
		if err != nil {
			return nil, err
		}
		next.Country, upd["country"] = cc, cc
	}
	if p.Email != nil {
		em, err := ValidEmail("email", *p.Email)
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
			return nil, RuleBroken(field, "%v", err)
		}
		next.Mobile, upd["mobile"] = m, m
	}
	*cust = next
	return upd, nil
}

// PatchCustomer validates and applies p to cust. The next import overwrites
// what the accounting software holds for customers with an open invoice
// (seed 001). cust holds the stored row afterwards.
func (s *Service) PatchCustomer(ctx context.Context, cust *models.Customer, p CustomerPatch) error {
	upd, err := applyCustomerPatch(p, cust)
	if err != nil {
		return err
	}
	return s.saveCustomer(ctx, cust, upd)
}

// PatchCustomerSendSettings applies p to cust; they apply from the next step sent.
func (s *Service) PatchCustomerSendSettings(ctx context.Context, cust *models.Customer, p CustomerSendSettingsPatch) error {
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

func applyAdministrationSettings(p AdministrationSettingsPatch, adm *models.Administration) (map[string]any, error) {
	upd := map[string]any{}
	next := *adm
	set := func(col string, v *bool, dst *bool) {
		if v != nil {
			*dst, upd[col] = *v, *v
		}
	}
	st := &next.AdministrationSettings
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
			return nil, RuleBroken("customer_min_gap_days", "must be between 0 and 90")
		}
		st.CustomerMinGapDays, upd["customer_min_gap_days"] = *v, *v
	}
	if p.LateEntry != nil {
		if !p.LateEntry.Valid() {
			return nil, Invalid("late_entry", "must be %q or %q", models.LateEntryCapped, models.LateEntryLatestDue)
		}
		st.LateEntry, upd["late_entry"] = *p.LateEntry, *p.LateEntry
	}
	if p.LateEntryMaxStep != nil {
		if !policy.LateEntryStep(policy.StepKind(*p.LateEntryMaxStep)) {
			return nil, Invalid("late_entry_max_step", "must be one of invoice, reminder, final_reminder, collection")
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
		return nil, RuleBroken("send_window_start", "%v", err)
	}
	if p.Country != nil {
		cc := strings.ToUpper(strings.TrimSpace(*p.Country))
		if len(cc) != 2 || !schedule.HasHolidayCalendar(cc) {
			return nil, RuleBroken("country", "%q has no holiday calendar here (NL, BE, FR, DE, GB)", *p.Country)
		}
		next.Country, upd["country"] = cc, cc
	}
	if p.TimeZone != nil {
		if _, err := time.LoadLocation(*p.TimeZone); err != nil || *p.TimeZone == "" {
			return nil, Invalid("time_zone", "%q is not an IANA time zone", *p.TimeZone)
		}
		next.TimeZone, upd["time_zone"] = *p.TimeZone, *p.TimeZone
	}
	if p.Language != nil {
		if !ValidLanguage(*p.Language) {
			return nil, Invalid("language", "must be one of nl, fr, en, de")
		}
		next.Language, upd["language"] = *p.Language, *p.Language
	}
	str := func(col string, v *string, dst *string, max int) error {
		if v == nil {
			return nil
		}
		if len(*v) > max {
			return Invalid(col, "is longer than %d characters", max)
		}
		*dst, upd[col] = *v, *v
		return nil
	}
	cd := &next.CompanyDetails
	for _, e := range []error{
		str("sender_name", p.SenderName, &cd.SenderName, 255),
		str("sender_email", p.SenderEmail, &cd.SenderEmail, 255),
		str("reply_to_email", p.ReplyToEmail, &cd.ReplyToEmail, 255),
		str("sms_sender", p.SMSSender, &cd.SMSSender, 11),
	} {
		if e != nil {
			return nil, e
		}
	}
	*adm = next
	return upd, nil
}

// PatchAdministrationSettings validates and applies p to adm; adm holds the
// stored row afterwards.
func (s *Service) PatchAdministrationSettings(ctx context.Context, adm *models.Administration, p AdministrationSettingsPatch) error {
	upd, err := applyAdministrationSettings(p, adm)
	if err != nil {
		return err
	}
	if len(upd) > 0 {
		if err := s.db.WithContext(ctx).Model(&models.Administration{}).Where("id = ?", adm.ID).Updates(upd).Error; err != nil {
			return storeErr(err, "update settings of administration %d", adm.ID)
		}
	}
	return storeErr(s.db.WithContext(ctx).First(adm, adm.ID).Error, "read administration %d back", adm.ID)
}
