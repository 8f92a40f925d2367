package app

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"gorm.io/gorm"

	"github.com/relance/relance/auth"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/journeys"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/schedule"
)

// CreateOrganization creates a tenant and its first API key, in one
// transaction, and returns the key's plaintext: it is shown once.
func (s *Service) CreateOrganization(ctx context.Context, name, keyName string) (models.Organization, string, error) {
	org := models.Organization{Name: strings.TrimSpace(name), InboxRead: models.ReadManually}
	if org.Name == "" || utf8.RuneCountInString(org.Name) > 255 || strings.ContainsAny(org.Name, "\x00\r\n\t") {
		return org, "", domain.Invalid("name", "must be 1 to 255 characters on one line")
	}
	if strings.TrimSpace(keyName) == "" {
		keyName = "first key"
	}
	var plain string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&org).Error; err != nil {
			return fmt.Errorf("create organization: %w", err)
		}
		p, k, err := auth.NewKey(org.ID, keyName)
		if err != nil {
			return err
		}
		if err := tx.Create(&k).Error; err != nil {
			return fmt.Errorf("store first API key of organization %d: %w", org.ID, err)
		}
		plain = p
		return nil
	})
	if err != nil {
		return models.Organization{}, "", err
	}
	s.log.Info("organization created", "organization_id", org.ID)
	return org, plain, nil
}

// countryDefaults are a new administration's time zone, currency and
// language when only its country is given.
var countryDefaults = map[string]struct{ tz, cur, lang string }{
	"NL": {"Europe/Amsterdam", "EUR", "nl"},
	"BE": {"Europe/Brussels", "EUR", "nl"},
	"FR": {"Europe/Paris", "EUR", "fr"},
	"DE": {"Europe/Berlin", "EUR", "de"},
	"GB": {"Europe/London", "GBP", "en"},
}

// apply validates in against adm and changes adm only when all of it is
// valid. It reports whether a company detail changed.
func applyAdministration(in domain.AdministrationInput, adm *models.Administration) (detailsChanged bool, err error) {
	next := *adm
	if in.Name != nil {
		v, err := singleLine("name", *in.Name, 255, true)
		if err != nil {
			return false, err
		}
		next.Name = v
	}
	if in.Country != nil {
		cc := strings.ToUpper(strings.TrimSpace(*in.Country))
		r, err := language.ParseRegion(cc)
		if len(cc) != 2 || err != nil || !r.IsCountry() {
			return false, domain.Invalid("country", "%q is not an ISO 3166 country code", *in.Country)
		}
		cc = r.Canonicalize().String() // UK → GB
		if !schedule.HasHolidayCalendar(cc) {
			return false, domain.RuleBroken("country", "%s has no holiday calendar here (NL, BE, FR, DE, GB)", cc)
		}
		next.Country = cc
	}
	if in.TimeZone != nil {
		tz := strings.TrimSpace(*in.TimeZone)
		if _, err := time.LoadLocation(tz); err != nil || tz == "" || tz == "Local" {
			return false, domain.Invalid("time_zone", "%q is not an IANA time zone (Europe/Amsterdam)", *in.TimeZone)
		}
		next.TimeZone = tz
	}
	if in.Currency != nil {
		cur := strings.TrimSpace(*in.Currency)
		if _, err := currency.ParseISO(cur); err != nil || len(cur) != 3 || strings.ToUpper(cur) != cur {
			return false, domain.Invalid("currency", "%q is not an ISO 4217 currency code (EUR)", *in.Currency)
		}
		next.Currency = cur
	}
	if in.Language != nil {
		if !domain.ValidLanguage(*in.Language) {
			return false, domain.Invalid("language", "must be one of nl, fr, en, de")
		}
		next.Language = *in.Language
	}

	st := &next.AdministrationSettings
	for _, b := range []struct {
		v   *bool
		dst *bool
	}{
		{in.PostalEnabled, &st.PostalEnabled}, {in.FinalReminderByPost, &st.FinalReminderByPost},
		{in.SMSEnabled, &st.SMSEnabled}, {in.CollectionSMSEnabled, &st.CollectionSMSEnabled},
		{in.StatementSMSEnabled, &st.StatementSMSEnabled}, {in.UseProvidedEmail, &st.UseProvidedEmail},
		{in.AskEmailOnInvoiceLetters, &st.AskEmailOnInvoiceLetters}, {in.AskEmailOnReminderLetters, &st.AskEmailOnReminderLetters},
	} {
		if b.v != nil {
			*b.dst = *b.v
		}
	}
	if v := in.CustomerMinGapDays; v != nil {
		if *v < 0 || *v > 90 {
			return false, domain.RuleBroken("customer_min_gap_days", "must be between 0 and 90")
		}
		st.CustomerMinGapDays = *v
	}
	if v := in.Bundling; v != nil {
		b := models.Bundling(strings.ToLower(strings.TrimSpace(*v)))
		if !b.Valid() {
			return false, domain.RuleBroken("bundling", "must be %q or %q, got %q", models.BundlingOn, models.BundlingOff, *v)
		}
		st.Bundling = b
	}
	if in.SendWindowStart != nil {
		st.SendWindowStart = *in.SendWindowStart
	}
	if in.SendWindowEnd != nil {
		st.SendWindowEnd = *in.SendWindowEnd
	}
	if err := (schedule.Window{StartHour: st.SendWindowStart, EndHour: st.SendWindowEnd}).Validate(); err != nil {
		return false, domain.RuleBroken("send_window_start", "%v", err)
	}

	cd := &next.CompanyDetails
	type detail struct {
		field string
		v     *string
		dst   *string
		max   int
		check func(string) string
	}
	email := func(v string) string {
		if v != "" && !policy.ValidEmail(v) {
			return fmt.Sprintf("%q is not an email address (name@example.com)", v)
		}
		return ""
	}
	for _, d := range []detail{
		{"company_name", in.CompanyName, &cd.CompanyName, 255, nil},
		{"company_address", in.CompanyAddress, &cd.CompanyAddress, 512, nil},
		{"company_phone", in.CompanyPhone, &cd.CompanyPhone, 64, nil},
		{"company_email", in.CompanyEmail, &cd.CompanyEmail, 255, email},
		{"company_website", in.CompanyWebsite, &cd.CompanyWebsite, 255, webURL},
		{"company_logo_url", in.CompanyLogoURL, &cd.CompanyLogoURL, 512, webURL},
		{"legal_id", in.LegalID, &cd.LegalID, 64, nil},
		{"bank_details", in.BankDetails, &cd.BankDetails, 255, nil},
		{"late_penalty_rate", in.LatePenaltyRate, &cd.LatePenaltyRate, 32, nil},
		{"sender_name", in.SenderName, &cd.SenderName, 255, nil},
		{"sender_email", in.SenderEmail, &cd.SenderEmail, 255, email},
		{"reply_to_email", in.ReplyToEmail, &cd.ReplyToEmail, 255, email},
		{"bcc_email", in.BCCEmail, &cd.BCCEmail, 255, email},
		{"sms_sender", in.SMSSender, &cd.SMSSender, 11, smsSender},
		{"user_name", in.UserName, &cd.UserName, 255, nil},
		{"user_email", in.UserEmail, &cd.UserEmail, 255, email},
		{"user_phone", in.UserPhone, &cd.UserPhone, 64, nil},
	} {
		if d.v == nil {
			continue
		}
		v := strings.TrimSpace(*d.v)
		multiline := d.field == "company_address" || d.field == "bank_details"
		if utf8.RuneCountInString(v) > d.max {
			return false, domain.Invalid(d.field, "is longer than %d characters", d.max)
		}
		if strings.ContainsAny(v, "\x00\t") || (!multiline && strings.ContainsAny(v, "\r\n")) {
			return false, domain.Invalid(d.field, "contains control characters")
		}
		if d.check != nil {
			if reason := d.check(v); reason != "" {
				return false, domain.Invalid(d.field, "%s", reason)
			}
		}
		if *d.dst != v {
			detailsChanged = true
		}
		*d.dst = v
	}
	*adm = next
	return detailsChanged, nil
}

// webURL accepts an empty value or an absolute http(s) address.
func webURL(v string) string {
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Sprintf("%q is not an http(s) address", v)
	}
	return ""
}

// smsSender accepts what SMS networks show as a sender: up to 11 letters,
// digits and spaces (alphanumeric sender ID).
func smsSender(v string) string {
	for _, r := range v {
		if !(r == ' ' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "may hold only letters, digits and spaces (an alphanumeric sender ID)"
		}
	}
	return ""
}

func singleLine(field, v string, max int, required bool) (string, error) {
	t := strings.TrimSpace(v)
	switch {
	case required && t == "":
		return "", domain.Invalid(field, "must not be empty")
	case utf8.RuneCountInString(t) > max:
		return "", domain.Invalid(field, "is longer than %d characters", max)
	case strings.ContainsAny(t, "\x00\r\n\t"):
		return "", domain.Invalid(field, "contains control characters")
	}
	return t, nil
}

// CreateAdministration creates an administration of orgID with the default
// journey, so that invoices can be added at once. Name and country are
// required; time zone, currency and language default to the country's.
func (s *Service) CreateAdministration(ctx context.Context, orgID int64, in domain.AdministrationInput) (*models.Administration, error) {
	if in.Name == nil {
		return nil, domain.Invalid("name", "is required")
	}
	if in.Country == nil {
		return nil, domain.Invalid("country", "is required (NL, BE, FR, DE or GB)")
	}
	adm := &models.Administration{OrganizationID: orgID, AdministrationSettings: models.DefaultAdministrationSettings()}
	if _, err := applyAdministration(in, adm); err != nil {
		return nil, err
	}
	mins, err := minimumAmountChanges(in.MinimumAmounts)
	if err != nil {
		return nil, err
	}
	def := countryDefaults[adm.Country]
	if in.TimeZone == nil {
		adm.TimeZone = def.tz
	}
	if in.Currency == nil {
		adm.Currency = def.cur
	}
	if in.Language == nil {
		adm.Language = def.lang
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(adm).Error; err != nil {
			return fmt.Errorf("create administration: %w", err)
		}
		if err := mins.save(tx, adm.ID); err != nil {
			return err
		}
		j := models.Journey{AdministrationID: adm.ID, Name: "Standard", MinGapDays: journeys.DefaultMinGapDays}
		for i, st := range journeys.Default() {
			j.Steps = append(j.Steps, models.JourneyStep{Position: i, OffsetDays: st.OffsetDays, Kind: string(st.Kind), Template: st.Template})
		}
		if err := tx.Create(&j).Error; err != nil {
			return fmt.Errorf("create default journey: %w", err)
		}
		adm.DefaultJourneyID = &j.ID
		return tx.Model(adm).Update("default_journey_id", j.ID).Error
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("administration created", "organization_id", orgID, "administration_id", adm.ID)
	return adm, nil
}

// UpdateAdministration changes an administration of orgID; absent fields
// stay. Settings apply from the next step sent; changed company details
// clear the missing-details flag (the next send checks again).
func (s *Service) UpdateAdministration(ctx context.Context, orgID, id int64, in domain.AdministrationInput) (*models.Administration, error) {
	adm, err := s.Administration(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	tz := adm.TimeZone
	changed, err := applyAdministration(in, adm)
	if err != nil {
		return nil, err
	}
	mins, err := minimumAmountChanges(in.MinimumAmounts)
	if err != nil {
		return nil, err
	}
	if changed {
		adm.DetailsMissing = ""
	}
	if adm.TimeZone != tz && adm.StatementSchedule != models.StatementOff {
		// The statements' Schedule runs at 08:00 in the administration's
		// time zone: it follows the move (first, as the settings do).
		if err := s.syncStatementSchedule(ctx, adm); err != nil {
			return nil, err
		}
	}
	if err := s.saveAdministration(ctx, adm, mins); err != nil {
		return nil, err
	}
	return adm, nil
}

// saveAdministration writes adm's settings and details and its minimum
// amounts in one transaction, and reads the row back. Select("*") writes
// false and zero values too; Omit keeps the columns that other operations
// own.
func (s *Service) saveAdministration(ctx context.Context, adm *models.Administration, mins minimumAmounts) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(adm).Select("*").
			Omit("id", "organization_id", "default_journey_id", "archived_at", "created_at").Updates(adm).Error; err != nil {
			return fmt.Errorf("update administration %d: %w", adm.ID, err)
		}
		return mins.save(tx, adm.ID)
	})
	if err != nil {
		return storeErr(err, "save administration %d", adm.ID)
	}
	return storeErr(s.db.WithContext(ctx).First(adm, adm.ID).Error, "read administration %d back", adm.ID)
}

// ArchiveAdministration archives (archived true) or restores an
// administration of orgID. An archived administration starts no journeys;
// the journeys already running go on (they re-read the settings at each step).
func (s *Service) ArchiveAdministration(ctx context.Context, orgID, id int64, archived bool) (*models.Administration, error) {
	adm, err := s.Administration(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	var at *time.Time
	if archived {
		if adm.ArchivedAt != nil {
			return adm, nil
		}
		now := s.Now()
		at = &now
	}
	if err := s.db.WithContext(ctx).Model(&models.Administration{}).Where("id = ?", adm.ID).Update("archived_at", at).Error; err != nil {
		return nil, fmt.Errorf("archive administration %d: %w", adm.ID, err)
	}
	adm.ArchivedAt = at
	s.log.Info("administration archived", "administration_id", adm.ID, "archived", archived)
	return adm, nil
}
