package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/relance/relance/db"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
)

func TestDialectOf(t *testing.T) {
	cases := []struct {
		url     string
		dialect db.Dialect
		dsn     string
		err     bool
	}{
		{"postgres://u@h/db", db.Postgres, "postgres://u@h/db", false},
		{"postgresql://u@h/db", db.Postgres, "postgresql://u@h/db", false},
		{"sqlite://.data/x.db", db.SQLite, ".data/x.db", false},
		{"file:x.db", db.SQLite, "file:x.db", false},
		{"x.db", db.SQLite, "x.db", false},
		{"", "", "", true},
		{"mysql://u:secret@h/db", "", "", true},
	}
	for _, c := range cases {
		d, dsn, err := db.DialectOf(c.url)
		if c.err {
			require.Error(t, err, c.url)
			require.NotContains(t, err.Error(), "secret", "a password leaked into an error")
			continue
		}
		require.NoError(t, err, c.url)
		require.Equal(t, c.dialect, d)
		require.Equal(t, c.dsn, dsn)
	}
}

// TestStore checks the schema's guarantees on both engines: migrations are
// idempotent, the unique keys that make imports and the outbox idempotent
// hold, money and times round-trip exactly.
func TestStore(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		require.NoError(t, db.Migrate(gdb), "a second migration run is a no-op")
		var n int64
		require.NoError(t, gdb.Table("schema_migrations").Count(&n).Error)
		require.Equal(t, int64(len(db.Versions())), n)

		org := models.Organization{Name: "O", InboxRead: models.ReadManually}
		require.NoError(t, gdb.Create(&org).Error)
		adm := models.Administration{OrganizationID: org.ID, Name: "A", Country: "NL", TimeZone: "Europe/Amsterdam", Currency: "EUR", Language: "nl",
			AdministrationSettings: models.DefaultAdministrationSettings()}
		adm.PostalEnabled = false // a zero value must be stored as false, not the default
		require.NoError(t, gdb.Create(&adm).Error)
		var got models.Administration
		require.NoError(t, gdb.First(&got, adm.ID).Error)
		require.False(t, got.PostalEnabled)
		require.True(t, got.FinalReminderByPost)
		require.Equal(t, 7, got.CustomerMinGapDays)

		cust := models.Customer{AdministrationID: adm.ID, ExternalRef: "C1", Name: "C", Language: "nl", PortalToken: "t1",
			CustomerSendSettings: models.CustomerSendSettings{SendByPost: false, SendInvoicesByEmail: true}}
		require.NoError(t, gdb.Create(&cust).Error)
		dup := models.Customer{AdministrationID: adm.ID, ExternalRef: "C1", Name: "C again", Language: "nl", PortalToken: "t2"}
		require.True(t, errors.Is(gdb.Create(&dup).Error, gorm.ErrDuplicatedKey), "customer ref is unique per administration")

		due := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		inv := models.Invoice{AdministrationID: adm.ID, CustomerID: cust.ID, Number: "F-1", IssueDate: due.AddDate(0, 0, -30), DueDate: due,
			Currency: "EUR", AmountMinor: 9_007_199_254_740_993, OpenMinor: 1, Status: models.InvoiceOpen, WorkflowID: "w"}
		require.NoError(t, gdb.Create(&inv).Error)
		var back models.Invoice
		require.NoError(t, gdb.First(&back, inv.ID).Error)
		require.Equal(t, int64(9_007_199_254_740_993), back.AmountMinor, "int64 minor units survive (beyond float precision)")
		require.True(t, due.Equal(back.DueDate))
		require.Equal(t, time.UTC, back.CreatedAt.Location())
		inv2 := inv
		inv2.ID = 0
		require.True(t, errors.Is(gdb.Create(&inv2).Error, gorm.ErrDuplicatedKey), "invoice number is unique per administration")

		// The outbox key is unique: a second insert with ON CONFLICT DO NOTHING changes nothing.
		m := models.Message{Key: "k/1/email", AdministrationID: adm.ID, CustomerID: cust.ID, Kind: "reminder", Channel: "email", State: models.MessageSent}
		require.NoError(t, gdb.Create(&m).Error)
		again := models.Message{Key: "k/1/email", AdministrationID: adm.ID, CustomerID: cust.ID, Kind: "reminder", Channel: "email", State: models.MessageQueued}
		res := gdb.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "key"}}, DoNothing: true}).Create(&again)
		require.NoError(t, res.Error)
		require.Equal(t, int64(0), res.RowsAffected)
		var stored models.Message
		require.NoError(t, gdb.First(&stored, "key = ?", "k/1/email").Error)
		require.Equal(t, models.MessageSent, stored.State)

		// A cancelled context fails cleanly.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		require.Error(t, gdb.WithContext(ctx).First(&models.Invoice{}).Error)
	})
}
