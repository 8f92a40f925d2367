package db

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"

	"github.com/relance/relance/models"
	"github.com/relance/relance/portal"
)

// migrations is the ordered, append-only list of schema versions. A released
// migration is never edited: a change to the models gets a new entry with
// explicit DDL (Migrator().AddColumn, CreateIndex, …) guarded by HasColumn /
// HasIndex so that it also applies to databases created by the baseline.
func migrations() []*gormigrate.Migration {
	return []*gormigrate.Migration{
		{
			// The baseline creates the whole domain of docs/domain.md §1.
			ID: "202611230001_baseline",
			Migrate: func(tx *gorm.DB) error {
				return tx.AutoMigrate(models.All()...)
			},
			Rollback: func(tx *gorm.DB) error {
				all := models.All()
				for i := len(all) - 1; i >= 0; i-- {
					if err := tx.Migrator().DropTable(all[i]); err != nil {
						return err
					}
				}
				return nil
			},
		},
		{
			// The SMS send-rate window shared by every worker
			// (sms.SQLLimiter): one row per provider account, holding the
			// start instants of the last N requests.
			ID: "202611230002_rate_limits",
			Migrate: func(tx *gorm.DB) error {
				return tx.Exec(`CREATE TABLE IF NOT EXISTS relance_rate_limits (name VARCHAR(64) PRIMARY KEY, starts TEXT NOT NULL)`).Error
			},
			Rollback: func(tx *gorm.DB) error {
				return tx.Exec(`DROP TABLE IF EXISTS relance_rate_limits`).Error
			},
		},
		{
			// invoices.revision orders the journey's invoice-updated signals.
			ID: "202611230003_invoice_revision",
			Migrate: func(tx *gorm.DB) error {
				if tx.Migrator().HasColumn(&models.Invoice{}, "Revision") {
					return nil // created by the baseline of a newer binary
				}
				return tx.Migrator().AddColumn(&models.Invoice{}, "Revision")
			},
			Rollback: func(tx *gorm.DB) error {
				return tx.Migrator().DropColumn(&models.Invoice{}, "Revision")
			},
		},
		{
			// customers.bounced_email keeps a hard-bounced address from use.
			ID: "202611230004_customer_bounced_email",
			Migrate: func(tx *gorm.DB) error {
				if tx.Migrator().HasColumn(&models.Customer{}, "BouncedEmail") {
					return nil
				}
				return tx.Migrator().AddColumn(&models.Customer{}, "BouncedEmail")
			},
			Rollback: func(tx *gorm.DB) error {
				return tx.Migrator().DropColumn(&models.Customer{}, "BouncedEmail")
			},
		},
		{
			// invoices.journey_cycle and journey_started: journeys start again
			// for reopened invoices, and the reconciler finds invoices whose
			// journey never started. Invoices that have a workflow ID had
			// their (first) journey started.
			ID: "202611300201_invoice_journey_cycle",
			Migrate: func(tx *gorm.DB) error {
				for _, col := range []string{"JourneyCycle", "JourneyStarted"} {
					if !tx.Migrator().HasColumn(&models.Invoice{}, col) {
						if err := tx.Migrator().AddColumn(&models.Invoice{}, col); err != nil {
							return err
						}
					}
				}
				if !tx.Migrator().HasIndex(&models.Invoice{}, "JourneyStarted") {
					if err := tx.Migrator().CreateIndex(&models.Invoice{}, "JourneyStarted"); err != nil {
						return err
					}
				}
				return tx.Model(&models.Invoice{}).Where("workflow_id <> ''").
					Updates(map[string]any{"journey_cycle": 1, "journey_started": true}).Error
			},
			Rollback: func(tx *gorm.DB) error {
				if err := tx.Migrator().DropIndex(&models.Invoice{}, "JourneyStarted"); err != nil {
					return err
				}
				for _, col := range []string{"JourneyCycle", "JourneyStarted"} {
					if err := tx.Migrator().DropColumn(&models.Invoice{}, col); err != nil {
						return err
					}
				}
				return nil
			},
		},
		{
			// Collection procedure: the administration's interest rate,
			// stage gap and agency webhook; the customer's type (business or
			// consumer); the case's waiver, pause and dates; the case's
			// invoices and timeline events; one open case per customer and
			// currency.
			ID: "202611300601_collection_cases",
			Migrate: func(tx *gorm.DB) error {
				m := tx.Migrator()
				cols := []struct {
					model any
					field string
				}{
					{&models.Administration{}, "InterestRateBP"}, {&models.Administration{}, "CaseStageDays"},
					{&models.Administration{}, "AgencyWebhookURL"}, {&models.Administration{}, "AgencyWebhookSecret"},
					{&models.Customer{}, "Type"},
					{&models.CollectionCase{}, "WaivedMinor"}, {&models.CollectionCase{}, "Paused"},
					{&models.CollectionCase{}, "Disputed"}, {&models.CollectionCase{}, "NoticeAt"},
					{&models.CollectionCase{}, "HandedOverAt"}, {&models.CollectionCase{}, "ClosedAt"},
				}
				for _, c := range cols {
					if m.HasColumn(c.model, c.field) {
						continue // created by the baseline of a newer binary
					}
					if err := m.AddColumn(c.model, c.field); err != nil {
						return fmt.Errorf("add %s: %w", c.field, err)
					}
				}
				// Existing administrations get the defaults new ones get.
				d := models.DefaultCollectionSettings()
				if err := tx.Exec("UPDATE administrations SET interest_rate_bp = ?, case_stage_days = ? WHERE case_stage_days = 0",
					d.InterestRateBP, d.CaseStageDays).Error; err != nil {
					return fmt.Errorf("default collection settings: %w", err)
				}
				if err := tx.AutoMigrate(&models.CaseInvoice{}, &models.CaseEvent{}); err != nil {
					return err
				}
				return tx.Exec(`CREATE UNIQUE INDEX IF NOT EXISTS ux_open_case ON collection_cases (administration_id, customer_id, currency) WHERE stage <> 'closed'`).Error
			},
			Rollback: func(tx *gorm.DB) error {
				if err := tx.Exec(`DROP INDEX IF EXISTS ux_open_case`).Error; err != nil {
					return err
				}
				if err := tx.Migrator().DropTable(&models.CaseEvent{}, &models.CaseInvoice{}); err != nil {
					return err
				}
				return nil
			},
		},
		{
			// Tenants through the API: archived administrations, the flag of
			// missing company details, read-only API keys.
			ID: "202611300701_tenants",
			Migrate: func(tx *gorm.DB) error {
				for _, c := range []struct {
					model any
					field string
				}{{&models.Administration{}, "ArchivedAt"}, {&models.Administration{}, "DetailsMissing"}, {&models.APIKey{}, "ReadOnly"}} {
					if tx.Migrator().HasColumn(c.model, c.field) {
						continue
					}
					if err := tx.Migrator().AddColumn(c.model, c.field); err != nil {
						return err
					}
				}
				return nil
			},
			Rollback: func(tx *gorm.DB) error {
				return errors.Join(
					tx.Migrator().DropColumn(&models.Administration{}, "ArchivedAt"),
					tx.Migrator().DropColumn(&models.Administration{}, "DetailsMissing"),
					tx.Migrator().DropColumn(&models.APIKey{}, "ReadOnly"))
			},
		},
		{
			// Imports as accounting software writes them: the column mapping
			// an administration saves, the late-entry rule, and what the last
			// import said about each invoice (so that a payment recorded in
			// Relance wins over an older export).
			ID: "202611300401_import_mapping_late_entry",
			Migrate: func(tx *gorm.DB) error {
				if !tx.Migrator().HasTable(&models.ImportMapping{}) {
					if err := tx.Migrator().CreateTable(&models.ImportMapping{}); err != nil {
						return err
					}
				}
				for _, c := range []struct {
					model any
					field string
				}{
					{&models.Administration{}, "LateEntry"},
					{&models.Administration{}, "LateEntryMaxStep"},
					{&models.Invoice{}, "ImportedAmountMinor"},
					{&models.Invoice{}, "ImportedOpenMinor"},
				} {
					if tx.Migrator().HasColumn(c.model, c.field) {
						continue
					}
					if err := tx.Migrator().AddColumn(c.model, c.field); err != nil {
						return err
					}
				}
				return nil
			},
			Rollback: func(tx *gorm.DB) error {
				for _, c := range []struct {
					model any
					field string
				}{
					{&models.Administration{}, "LateEntry"},
					{&models.Administration{}, "LateEntryMaxStep"},
					{&models.Invoice{}, "ImportedAmountMinor"},
					{&models.Invoice{}, "ImportedOpenMinor"},
				} {
					if err := tx.Migrator().DropColumn(c.model, c.field); err != nil {
						return err
					}
				}
				return tx.Migrator().DropTable(&models.ImportMapping{})
			},
		},
		{
			// Templates have versions: templates.version, the saved texts in
			// template_versions, and the version each message was written
			// from. A template saved before this is its own version 1.
			ID: "202611300801_template_versions",
			Migrate: func(tx *gorm.DB) error {
				m := tx.Migrator()
				if !m.HasTable(&models.TemplateVersion{}) {
					if err := m.CreateTable(&models.TemplateVersion{}); err != nil {
						return err
					}
				}
				for _, c := range []struct {
					model any
					field string
				}{{&models.Template{}, "Version"}, {&models.Message{}, "TemplateID"}, {&models.Message{}, "TemplateVersion"}} {
					if !m.HasColumn(c.model, c.field) {
						if err := m.AddColumn(c.model, c.field); err != nil {
							return err
						}
					}
				}
				return tx.Exec(`INSERT INTO template_versions (template_id, version, subject, body, created_at)
					SELECT t.id, t.version, t.subject, t.body, t.updated_at FROM templates t
					WHERE NOT EXISTS (SELECT 1 FROM template_versions v WHERE v.template_id = t.id AND v.version = t.version)`).Error
			},
			Rollback: func(tx *gorm.DB) error {
				m := tx.Migrator()
				for _, c := range []struct {
					model any
					field string
				}{{&models.Message{}, "TemplateVersion"}, {&models.Message{}, "TemplateID"}, {&models.Template{}, "Version"}} {
					if err := m.DropColumn(c.model, c.field); err != nil {
						return err
					}
				}
				return m.DropTable(&models.TemplateVersion{})
			},
		},
		{
			// Scheduled open-items statements: how often, and on which day.
			ID: "202611301301_statement_schedule",
			Migrate: func(tx *gorm.DB) error {
				for _, f := range []string{"StatementSchedule", "StatementDay"} {
					if tx.Migrator().HasColumn(&models.Administration{}, f) {
						continue
					}
					if err := tx.Migrator().AddColumn(&models.Administration{}, f); err != nil {
						return err
					}
				}
				return nil
			},
			Rollback: func(tx *gorm.DB) error {
				return errors.Join(
					tx.Migrator().DropColumn(&models.Administration{}, "StatementSchedule"),
					tx.Migrator().DropColumn(&models.Administration{}, "StatementDay"))
			},
		},
		{
			// Contact persons with roles (table contacts), the
			// administration's archive copy (bcc_email), and the addresses
			// each email went to (to/cc/bcc, JSON lists).
			ID: "202611301001_contacts_recipients",
			Migrate: func(tx *gorm.DB) error {
				m := tx.Migrator()
				if !m.HasTable(&models.Contact{}) {
					if err := m.CreateTable(&models.Contact{}); err != nil {
						return err
					}
				}
				for _, c := range []struct {
					model any
					field string
				}{{&models.Administration{}, "BCCEmail"}, {&models.Message{}, "To"}, {&models.Message{}, "Cc"}, {&models.Message{}, "Bcc"}} {
					if !m.HasColumn(c.model, c.field) {
						if err := m.AddColumn(c.model, c.field); err != nil {
							return err
						}
					}
				}
				return nil
			},
			Rollback: func(tx *gorm.DB) error {
				m := tx.Migrator()
				for _, c := range []struct {
					model any
					field string
				}{{&models.Message{}, "Bcc"}, {&models.Message{}, "Cc"}, {&models.Message{}, "To"}, {&models.Administration{}, "BCCEmail"}} {
					if err := m.DropColumn(c.model, c.field); err != nil {
						return err
					}
				}
				return m.DropTable(&models.Contact{})
			},
		},
		{
			// The files that come with inbound emails (the inbox).
			ID: "202611301201_inbox_attachments",
			Migrate: func(tx *gorm.DB) error {
				if tx.Migrator().HasTable(&models.InboxAttachment{}) {
					return nil // created by the baseline of a newer binary
				}
				return tx.Migrator().CreateTable(&models.InboxAttachment{})
			},
			Rollback: func(tx *gorm.DB) error {
				return tx.Migrator().DropTable(&models.InboxAttachment{})
			},
		},
		{
			// The portal: short codes and revocation of customers' links,
			// promises to pay on invoices.
			ID: "202611301101_portal",
			Migrate: func(tx *gorm.DB) error {
				m := tx.Migrator()
				for _, c := range []struct {
					model any
					field string
				}{{&models.Customer{}, "PortalCode"}, {&models.Customer{}, "PortalRevokedAt"},
					{&models.Invoice{}, "PromisedUntil"}, {&models.Invoice{}, "BrokenPromiseAt"}} {
					if m.HasColumn(c.model, c.field) {
						continue
					}
					if err := m.AddColumn(c.model, c.field); err != nil {
						return err
					}
				}
				// Every existing customer gets its code before the unique
				// index (NULLs are distinct; the codes are random).
				var ids []int64
				if err := tx.Model(&models.Customer{}).Where("portal_code IS NULL").Pluck("id", &ids).Error; err != nil {
					return err
				}
				for _, id := range ids {
					if err := tx.Model(&models.Customer{}).Where("id = ?", id).Update("portal_code", portal.NewCode()).Error; err != nil {
						return err
					}
				}
				if !m.HasIndex(&models.Customer{}, "PortalCode") {
					return m.CreateIndex(&models.Customer{}, "PortalCode")
				}
				return nil
			},
			Rollback: func(tx *gorm.DB) error {
				m := tx.Migrator()
				return errors.Join(
					m.DropIndex(&models.Customer{}, "PortalCode"),
					m.DropColumn(&models.Customer{}, "PortalCode"),
					m.DropColumn(&models.Customer{}, "PortalRevokedAt"),
					m.DropColumn(&models.Invoice{}, "PromisedUntil"),
					m.DropColumn(&models.Invoice{}, "BrokenPromiseAt"))
			},
		},
		{
			// The invoice's timeline: pauses, resumes, disputes, email
			// submissions and imports that changed it (models.InvoiceEvent).
			ID: "202611300901_invoice_events",
			Migrate: func(tx *gorm.DB) error {
				// The table as this migration created it (the model may grow).
				type InvoiceEvent struct {
					ID               int64     `gorm:"primaryKey"`
					AdministrationID int64     `gorm:"not null;index"`
					InvoiceID        int64     `gorm:"not null;index:idx_invoice_events_invoice_at,priority:1"`
					Kind             string    `gorm:"size:32;not null"`
					Detail           string    `gorm:"size:512"`
					At               time.Time `gorm:"not null;index:idx_invoice_events_invoice_at,priority:2"`
				}
				return tx.AutoMigrate(&InvoiceEvent{})
			},
			Rollback: func(tx *gorm.DB) error {
				return tx.Migrator().DropTable("invoice_events")
			},
		},
		{
			// Operations: a journey change that reaches many running
			// journeys runs as a workflow whose progress is kept here.
			ID: "202611301401_operations",
			Migrate: func(tx *gorm.DB) error {
				if tx.Migrator().HasTable(&models.Operation{}) {
					return nil
				}
				return tx.Migrator().CreateTable(&models.Operation{})
			},
			Rollback: func(tx *gorm.DB) error {
				return tx.Migrator().DropTable(&models.Operation{})
			},
		},
		{
			// Bundling: one message per customer and channel for the
			// reminders of a send window, the customer's minimum gap, and
			// minimum amounts per currency.
			ID: "202611301501_bundling",
			Migrate: func(tx *gorm.DB) error {
				type Administration struct {
					Bundling models.Bundling `gorm:"size:8;not null;default:on"`
				}
				type Customer struct {
					LastRemindedAt *time.Time
				}
				if err := tx.AutoMigrate(&Administration{}, &Customer{}); err != nil {
					return err
				}
				return tx.AutoMigrate(&models.MinimumAmount{}, &models.BundleRequest{})
			},
			Rollback: func(tx *gorm.DB) error {
				return tx.Migrator().DropTable(&models.BundleRequest{}, &models.MinimumAmount{})
			},
		},
	}
}

// Migrate brings the schema to the newest version. It is safe to run from
// several processes at once on PostgreSQL (an advisory lock serialises them).
func Migrate(gdb *gorm.DB) error {
	run := func(tx *gorm.DB) error {
		m := gormigrate.New(tx, &gormigrate.Options{
			TableName:                 "schema_migrations",
			IDColumnName:              "id",
			IDColumnSize:              255,
			UseTransaction:            true,
			ValidateUnknownMigrations: true,
		}, migrations())
		if err := m.Migrate(); err != nil {
			return fmt.Errorf("migrate schema: %w", err)
		}
		return nil
	}
	if Of(gdb) != Postgres {
		return run(gdb)
	}
	return gdb.Connection(func(tx *gorm.DB) error {
		const lockKey = 0x72656c616e6365 // "relance" in ASCII
		if err := tx.Exec("SELECT pg_advisory_lock(?)", lockKey).Error; err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		defer tx.Exec("SELECT pg_advisory_unlock(?)", lockKey)
		return run(tx)
	})
}

// Versions lists the migration IDs, newest last.
func Versions() []string {
	var ids []string
	for _, m := range migrations() {
		ids = append(ids, m.ID)
	}
	return ids
}
