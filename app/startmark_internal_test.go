package app

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
)

// TestStartMarksAreBatched: the marks CreateInvoice leaves for after its
// answer are written by one flusher, every mark that arrived while it was
// writing in the next statement (at most markBatch invoices each); a mark
// never overwrites a cycle that started since (the invoice was reopened).
func TestStartMarksAreBatched(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		org := models.Organization{Name: "Marks"}
		require.NoError(t, gdb.Create(&org).Error)
		adm := models.Administration{OrganizationID: org.ID, Name: "Marks BV", Country: "NL", Currency: "EUR", Language: "en", TimeZone: "Europe/Amsterdam"}
		require.NoError(t, gdb.Create(&adm).Error)
		cust := models.Customer{AdministrationID: adm.ID, ExternalRef: "D1", Name: "Klant", Language: "en", Country: "NL"}
		require.NoError(t, gdb.Create(&cust).Error)
		const n = 1201
		today := time.Now().UTC().Truncate(24 * time.Hour)
		invs := make([]models.Invoice, n)
		for i := range invs {
			num := fmt.Sprintf("M-%d", i)
			invs[i] = models.Invoice{AdministrationID: adm.ID, CustomerID: cust.ID, Number: num, IssueDate: today, DueDate: today,
				Currency: "EUR", AmountMinor: 100, OpenMinor: 100, Status: models.InvoiceOpen, WorkflowID: "invoice:" + num, JourneyCycle: 1}
		}
		invs[7].JourneyCycle = 2 // reopened since its first journey started
		require.NoError(t, gdb.CreateInBatches(invs, 200).Error)

		// The first statement waits until every other mark is queued.
		var statements atomic.Int32
		release := make(chan struct{})
		var once sync.Once
		require.NoError(t, gdb.Callback().Update().Before("gorm:update").Register("test:marks", func(tx *gorm.DB) {
			if tx.Statement.Table != "invoices" {
				return
			}
			statements.Add(1)
			once.Do(func() { <-release })
		}))
		s := New(Options{DB: gdb, Logger: slog.New(slog.DiscardHandler)})
		s.markLater(invs[0].ID, 1)
		require.Eventually(t, func() bool { return statements.Load() == 1 }, testkit.Patience, 10*time.Millisecond, "the flusher's first statement")
		for _, inv := range invs[1:] {
			s.markLater(inv.ID, 1)
		}
		close(release)

		require.Eventually(t, func() bool {
			var unmarked int64
			return gdb.Model(&models.Invoice{}).Where("journey_started = ?", false).Count(&unmarked).Error == nil && unmarked == 1
		}, testkit.Patience, 20*time.Millisecond, "every invoice but the reopened one marked")
		// One statement for the first mark, then 1,200 in chunks of 500.
		require.Equal(t, int32(4), statements.Load())
		var reopened models.Invoice
		require.NoError(t, gdb.First(&reopened, invs[7].ID).Error)
		require.False(t, reopened.JourneyStarted, "the mark of cycle 1 does not touch cycle 2")
		require.Equal(t, 2, reopened.JourneyCycle)
		var marked models.Invoice
		require.NoError(t, gdb.First(&marked, invs[n-1].ID).Error)
		require.True(t, marked.JourneyStarted)
		require.Equal(t, 1, marked.JourneyCycle)

		// The flusher stops when nothing is queued, and the next mark
		// starts it again.
		require.Eventually(t, func() bool { s.marks.mu.Lock(); defer s.marks.mu.Unlock(); return !s.marks.flushing }, testkit.Patience, 10*time.Millisecond)
		require.NoError(t, gdb.Model(&models.Invoice{}).Where("id = ?", invs[3].ID).Update("journey_started", false).Error)
		s.markLater(invs[3].ID, 1)
		require.Eventually(t, func() bool {
			var row models.Invoice
			return gdb.First(&row, invs[3].ID).Error == nil && row.JourneyStarted
		}, testkit.Patience, 20*time.Millisecond)
	})
}
