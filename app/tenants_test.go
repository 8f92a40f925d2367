package app

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/schedule"
)

func validAdministration() models.Administration {
	return models.Administration{ID: 1, OrganizationID: 1, Name: "A", Country: "NL", TimeZone: "Europe/Amsterdam", Currency: "EUR",
		Language: "nl", AdministrationSettings: models.DefaultAdministrationSettings()}
}

func TestAdministrationInputApply(t *testing.T) {
	for _, c := range []struct {
		json  string
		field string // "" when accepted
		rule  bool
	}{
		{`{"country":"be","time_zone":"Europe/Brussels","currency":"EUR","language":"fr"}`, "", false},
		{`{"country":"GB","currency":"GBP"}`, "", false},
		{`{"country":"US"}`, "country", true},
		{`{"country":"NLD"}`, "country", false},
		{`{"time_zone":""}`, "time_zone", false},
		{`{"time_zone":"Local"}`, "time_zone", false},
		{`{"time_zone":"Europe/Nowhere"}`, "time_zone", false},
		{`{"currency":"eur"}`, "currency", false},
		{`{"currency":"ABC"}`, "currency", false},
		{`{"language":"NL"}`, "language", false},
		{`{"customer_min_gap_days":91}`, "customer_min_gap_days", true},
		{`{"customer_min_gap_days":0}`, "", false},
		{`{"bundling":"off"}`, "", false},
		{`{"bundling":" On "}`, "", false},
		{`{"bundling":"maybe"}`, "bundling", true},
		{`{"bundling":""}`, "bundling", true},
		{`{"send_window_start":9,"send_window_end":9}`, "send_window_start", true},
		{`{"name":"  "}`, "name", false},
		{`{"name":"a\nb"}`, "name", false},
		{`{"company_address":"Kade 1\n2000 Antwerpen","bank_details":"IBAN BE68\nBIC GEBABEBB"}`, "", false},
		{`{"company_phone":"+32\n3"}`, "company_phone", false},
		{`{"company_email":"ar@zuid"}`, "company_email", false},
		{`{"reply_to_email":"ar@zuid.example"}`, "", false},
		{`{"company_website":"ftp://zuid.example"}`, "company_website", false},
		{`{"company_logo_url":"https://zuid.example/logo.png"}`, "", false},
		{`{"sms_sender":"Zuid-BV"}`, "sms_sender", false},
		{`{"sms_sender":"Brouwerij Zuid"}`, "sms_sender", false},
		{`{"sms_sender":"Zuid 2"}`, "", false},
		{`{"late_penalty_rate":"` + strings.Repeat("9", 33) + `"}`, "late_penalty_rate", false},
	} {
		t.Run(c.json, func(t *testing.T) {
			var in domain.AdministrationInput
			require.NoError(t, json.Unmarshal([]byte(c.json), &in))
			adm := validAdministration()
			before := adm
			_, err := applyAdministration(in, &adm)
			if c.field == "" {
				require.NoError(t, err)
				return
			}
			var fe *domain.FieldError
			require.True(t, errors.As(err, &fe), "%v", err)
			require.Equal(t, c.field, fe.Field)
			require.Equal(t, c.rule, fe.Rule)
			require.Equal(t, before, adm, "refused input changes nothing")
		})
	}
}

func TestCountryIsCanonical(t *testing.T) {
	adm := validAdministration()
	uk := "uk"
	_, err := applyAdministration(domain.AdministrationInput{Country: &uk}, &adm)
	require.NoError(t, err)
	require.Equal(t, "GB", adm.Country)
	c, err := newAPICustomer(domain.NewCustomer{ExternalRef: "D", Name: "N", Country: "UK"}, &adm)
	require.NoError(t, err)
	require.Equal(t, "GB", c.Country)
}

func TestDetailsChangedClearsTheFlag(t *testing.T) {
	adm := validAdministration()
	bank := "IBAN NL91"
	changed, err := applyAdministration(domain.AdministrationInput{BankDetails: &bank}, &adm)
	require.NoError(t, err)
	require.True(t, changed)
	changed, err = applyAdministration(domain.AdministrationInput{BankDetails: &bank}, &adm)
	require.NoError(t, err)
	require.False(t, changed, "the same value is no change")
	on := true
	changed, err = applyAdministration(domain.AdministrationInput{SMSEnabled: &on}, &adm)
	require.NoError(t, err)
	require.False(t, changed, "a send setting is not a company detail")
}

// FuzzAdministrationInput: any JSON body either is refused, leaving the
// administration as it was, or leaves it valid for every other part of
// Relance (the send window, the holiday calendar, the column sizes).
func FuzzAdministrationInput(f *testing.F) {
	f.Add(`{"country":"be","currency":"EUR"}`)
	f.Add(`{"time_zone":"Europe/Paris","send_window_start":8,"send_window_end":18}`)
	f.Add(`{"sender_email":"a@b.example","sms_sender":"Zuid","company_address":"x\ny"}`)
	f.Fuzz(func(t *testing.T, body string) {
		var in domain.AdministrationInput
		if json.Unmarshal([]byte(body), &in) != nil {
			return
		}
		adm := validAdministration()
		before := adm
		if _, err := applyAdministration(in, &adm); err != nil {
			var fe *domain.FieldError
			require.True(t, errors.As(err, &fe))
			require.NotEmpty(t, fe.Field)
			require.Equal(t, before, adm)
			return
		}
		require.True(t, schedule.HasHolidayCalendar(adm.Country))
		_, err := time.LoadLocation(adm.TimeZone)
		require.NoError(t, err)
		require.Len(t, adm.Currency, 3)
		require.NoError(t, schedule.Window{StartHour: adm.SendWindowStart, EndHour: adm.SendWindowEnd}.Validate())
		require.LessOrEqual(t, utf8.RuneCountInString(adm.BankDetails), 255)
		require.LessOrEqual(t, utf8.RuneCountInString(adm.SMSSender), 11)
		for _, e := range []string{adm.SenderEmail, adm.ReplyToEmail, adm.UserEmail, adm.CompanyEmail} {
			require.True(t, e == "" || policy.ValidEmail(e), e)
		}
	})
}

// FuzzNewCustomer: a customer the API accepts has a valid email or none, a
// mobile in E.164 or none, a supported language and bounded fields.
func FuzzNewCustomer(f *testing.F) {
	f.Add(`{"external_ref":"D-1","name":"Café","email":"a@b.example","phone":"0612345678","country":"nl"}`)
	f.Add(`{"external_ref":"D-2","name":"X","phone":"+32 470 12 34 56","language":"fr"}`)
	adm := validAdministration()
	f.Fuzz(func(t *testing.T, body string) {
		var n domain.NewCustomer
		if json.Unmarshal([]byte(body), &n) != nil {
			return
		}
		c, err := newAPICustomer(n, &adm)
		if err != nil {
			var fe *domain.FieldError
			require.True(t, errors.As(err, &fe), "%v", err)
			return
		}
		require.NotEmpty(t, c.ExternalRef)
		require.NotEmpty(t, c.Name)
		require.True(t, c.Email == "" || policy.ValidEmail(c.Email), c.Email)
		require.True(t, c.Mobile == "" || strings.HasPrefix(c.Mobile, "+"), c.Mobile)
		require.True(t, domain.ValidLanguage(c.Language), c.Language)
		require.Len(t, c.Country, 2)
		require.LessOrEqual(t, utf8.RuneCountInString(c.Name), 255)
	})
}

// TestCreateOrganization: the organization and its first key are made
// together; a bad name makes neither.
func TestCreateOrganization(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		s := New(Options{DB: gdb})
		ctx := context.Background()
		org, key, err := s.CreateOrganization(ctx, "  Zuid  ", "")
		require.NoError(t, err)
		require.Equal(t, "Zuid", org.Name)
		require.True(t, strings.HasPrefix(key, "rl_"))
		var k models.APIKey
		require.NoError(t, gdb.Where("organization_id = ?", org.ID).First(&k).Error)
		require.Equal(t, "first key", k.Name)
		require.False(t, k.ReadOnly)

		_, _, err = s.CreateOrganization(ctx, strings.Repeat("x", 256), "k")
		var fe *domain.FieldError
		require.ErrorAs(t, err, &fe)
		var orgs, keys int64
		require.NoError(t, gdb.Model(&models.Organization{}).Count(&orgs).Error)
		require.NoError(t, gdb.Model(&models.APIKey{}).Count(&keys).Error)
		require.Equal(t, int64(1), orgs)
		require.Equal(t, int64(1), keys)

		// Another organization's administration is not found, not forbidden.
		other, _, err := s.CreateOrganization(ctx, "Other", "k")
		require.NoError(t, err)
		name, country := "Zuid", "BE"
		adm, err := s.CreateAdministration(ctx, org.ID, domain.AdministrationInput{Name: &name, Country: &country})
		require.NoError(t, err)
		_, err = s.Administration(ctx, other.ID, adm.ID)
		require.ErrorIs(t, err, domain.ErrNotFound)
		_, err = s.ArchiveAdministration(ctx, other.ID, adm.ID, true)
		require.ErrorIs(t, err, domain.ErrNotFound)
		_, err = s.UpdateAdministration(ctx, other.ID, adm.ID, domain.AdministrationInput{Name: &name})
		require.ErrorIs(t, err, domain.ErrNotFound)
	})
}
