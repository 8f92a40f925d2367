// Package demo seeds the data `relance dev` shows: one organization, one
// administration with its default journey, customers that exercise each
// channel rule, and invoices at different stages of their journeys.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/relance/relance/app"
	"github.com/relance/relance/journeys"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
)

// OrganizationName identifies the demo organization, so seeding runs once.
const OrganizationName = "Demo Company"

// Seed creates the demo data unless it exists; it returns the organization's ID.
func Seed(ctx context.Context, gdb *gorm.DB, tc client.Client, now time.Time) (int64, bool, error) {
	var org models.Organization
	err := gdb.WithContext(ctx).Where("name = ?", OrganizationName).First(&org).Error
	if err == nil {
		return org.ID, false, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, false, fmt.Errorf("look for demo organization: %w", err)
	}
	var adm models.Administration
	var custs []models.Customer
	err = gdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		org = models.Organization{Name: OrganizationName, InboxRead: models.ReadManually}
		if err := tx.Create(&org).Error; err != nil {
			return err
		}
		settings := models.DefaultAdministrationSettings()
		settings.SMSEnabled = true
		settings.AskEmailOnReminderLetters = true
		settings.AskEmailOnInvoiceLetters = true
		adm = models.Administration{
			OrganizationID: org.ID, Name: "Demo Wholesale BV", Country: "NL", TimeZone: "Europe/Amsterdam",
			Currency: "EUR", Language: "nl", AdministrationSettings: settings,
			CompanyDetails: models.CompanyDetails{
				CompanyName: "Demo Wholesale BV", CompanyAddress: "Keizersgracht 100\n1015 AA Amsterdam\nNederland",
				CompanyPhone: "+31 20 123 4567", CompanyEmail: "debiteuren@demo-wholesale.example",
				CompanyWebsite: "https://demo-wholesale.example", LegalID: "KvK 12345678",
				BankDetails: "IBAN NL91 ABNA 0417 1643 00 · BIC ABNANL2A", LatePenaltyRate: "8%",
				SenderName: "Demo Wholesale BV", SenderEmail: "debiteuren@demo-wholesale.example",
				ReplyToEmail: "debiteuren@demo-wholesale.example", SMSSender: "DemoWhole",
				UserName: "Sanne Jansen", UserEmail: "sanne@demo-wholesale.example", UserPhone: "+31 20 123 4568",
				BCCEmail: "archief@demo-wholesale.example",
			},
		}
		if err := tx.Create(&adm).Error; err != nil {
			return err
		}
		j := models.Journey{AdministrationID: adm.ID, Name: "Standard", MinGapDays: journeys.DefaultMinGapDays}
		for i, s := range journeys.Default() {
			j.Steps = append(j.Steps, models.JourneyStep{Position: i, OffsetDays: s.OffsetDays, Kind: string(s.Kind), Template: s.Template})
		}
		if err := tx.Create(&j).Error; err != nil {
			return err
		}
		if err := tx.Model(&adm).Update("default_journey_id", j.ID).Error; err != nil {
			return err
		}
		custs = customers(adm.ID)
		for i := range custs {
			if err := tx.Create(&custs[i]).Error; err != nil {
				return err
			}
		}
		// Smith & Sons' accounts payable clerk receives the invoices and
		// reminders, its finance director a copy (the outbox page shows
		// To, Cc and the archive's blind copy).
		return tx.Create([]models.Contact{
			{CustomerID: custs[3].ID, Name: "Jane Smith", Email: "jane.smith@smith-sons.example", Source: "api",
				Roles: models.ContactRoles{policy.RoleBilling, policy.RoleReminders}},
			{CustomerID: custs[3].ID, Name: "Tom Smith", Email: "finance.director@smith-sons.example", Source: "api", CC: true,
				Roles: models.ContactRoles{policy.RoleReminders, policy.RoleCollection}},
		}).Error
	})
	if err != nil {
		return 0, false, fmt.Errorf("seed demo data: %w", err)
	}
	day := func(n int) time.Time {
		y, m, d := now.UTC().AddDate(0, 0, n).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	invoices := []struct {
		cust        int
		number      string
		issue, due  int
		amount, opn int64
	}{
		{0, "INV-2026-1001", 0, 30, 125000, 125000},
		{0, "INV-2026-1002", -40, -10, 48950, 48950},
		{1, "INV-2026-1003", -50, -20, 230000, 150000},
		{2, "INV-2026-1004", -20, 10, 89900, 89900},
		{3, "INV-2026-1005", -75, -45, 1250000, 1250000},
		{4, "INV-2026-1006", -35, -5, 15000, 15000},
		{1, "INV-2026-1007", -10, 20, 54000, 54000},
	}
	svc := app.New(app.Options{DB: gdb, Temporal: tc})
	for _, iv := range invoices {
		inv := &models.Invoice{
			Number: iv.number, IssueDate: day(iv.issue), DueDate: day(iv.due), Currency: "EUR",
			AmountMinor: iv.amount, OpenMinor: iv.opn,
		}
		if err := svc.CreateInvoice(ctx, &adm, &custs[iv.cust], inv); err != nil {
			return 0, false, fmt.Errorf("seed demo invoice %s: %w", iv.number, err)
		}
	}
	return org.ID, true, nil
}

func customers(admID int64) []models.Customer {
	on := models.DefaultCustomerSendSettings()
	noPost := on
	noPost.SendByPost = false
	return []models.Customer{
		{AdministrationID: admID, ExternalRef: "C-1001", Name: "Bakkerij De Vries", Language: "nl",
			Email: "administratie@bakkerij-devries.example", Phone: "06 12345678", Mobile: "+31612345678",
			AddressLine1: "Dorpsstraat 12", PostalCode: "1234 AB", City: "Utrecht", Country: "NL",
			CustomerSendSettings: on, PortalToken: token()},
		{AdministrationID: admID, ExternalRef: "C-1002", Name: "Boulangerie Martin", Language: "fr",
			Email: "compta@boulangerie-martin.example", Phone: "06 12 34 56 78", Mobile: "+33612345678",
			AddressLine1: "12 rue de la Paix", PostalCode: "75002", City: "Paris", Country: "FR",
			CustomerSendSettings: on, PortalToken: token()},
		{AdministrationID: admID, ExternalRef: "C-1003", Name: "Müller GmbH", Language: "de",
			AddressLine1: "Hauptstraße 5", PostalCode: "10115", City: "Berlin", Country: "DE",
			CustomerSendSettings: on, PortalToken: token()},
		{AdministrationID: admID, ExternalRef: "C-1004", Name: "Smith & Sons Ltd", Language: "en",
			Email: "accounts@smith-sons.example", AddressLine1: "1 High Street", PostalCode: "SW1A 1AA",
			City: "London", Country: "GB", CustomerSendSettings: noPost, PortalToken: token()},
		{AdministrationID: admID, ExternalRef: "C-1005", Name: "Janssen Installaties", Language: "nl",
			ProvidedEmail: "info@janssen-installaties.example", Country: "NL",
			CustomerSendSettings: on, PortalToken: token()},
	}
}

// token is a customer's random portal token.
func token() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
