package activities

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
)

func TestHighestKind(t *testing.T) {
	cases := []struct {
		name  string
		kinds []policy.StepKind
		want  policy.StepKind
	}{
		{"one reminder", []policy.StepKind{policy.StepReminder}, policy.StepReminder},
		{"reminders", []policy.StepKind{policy.StepReminder, policy.StepReminder}, policy.StepReminder},
		{"a final reminder among reminders", []policy.StepKind{policy.StepReminder, policy.StepFinalReminder, policy.StepReminder}, policy.StepFinalReminder},
		{"a final reminder first", []policy.StepKind{policy.StepFinalReminder, policy.StepReminder}, policy.StepFinalReminder},
		{"final reminders", []policy.StepKind{policy.StepFinalReminder, policy.StepFinalReminder}, policy.StepFinalReminder},
	}
	for _, c := range cases {
		require.Equal(t, c.want, HighestKind(c.kinds), c.name)
	}
}

func TestOverdueTotal(t *testing.T) {
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	inv := func(id int64, due time.Time, open int64, status models.InvoiceStatus) models.Invoice {
		return models.Invoice{ID: id, DueDate: due, OpenMinor: open, Status: status}
	}
	cases := []struct {
		name      string
		invs      []models.Invoice
		requested map[int64]bool
		want      int64
	}{
		{"nothing", nil, nil, 0},
		{"past due counts", []models.Invoice{inv(1, day(20), 1000, models.InvoiceOpen)}, nil, 1000},
		{"due today is not overdue", []models.Invoice{inv(1, day(30), 1000, models.InvoiceOpen)}, nil, 0},
		{"not yet due", []models.Invoice{inv(1, day(30).AddDate(0, 0, 5), 1000, models.InvoiceOpen)}, nil, 0},
		{"a requested invoice counts whatever its date", []models.Invoice{inv(1, day(30).AddDate(0, 0, 5), 1000, models.InvoiceOpen)}, map[int64]bool{1: true}, 1000},
		{"paid and empty invoices do not count", []models.Invoice{
			inv(1, day(1), 1000, models.InvoicePaid), inv(2, day(1), 0, models.InvoiceOpen), inv(3, day(2), 250, models.InvoiceOpen),
		}, map[int64]bool{1: true, 2: true}, 250},
		{"a mix", []models.Invoice{
			inv(1, day(1), 1000, models.InvoiceOpen), inv(2, day(29), 2000, models.InvoiceOpen), inv(3, day(30), 4000, models.InvoiceOpen),
			inv(4, day(30).AddDate(0, 1, 0), 8000, models.InvoiceOpen),
		}, map[int64]bool{4: true}, 11000},
	}
	for _, c := range cases {
		require.Equal(t, c.want, OverdueTotal(c.invs, c.requested, at), c.name)
	}
}

func TestMostOverdue(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	cases := []struct {
		name string
		invs []models.Invoice
		want int
	}{
		{"none", nil, -1},
		{"one", []models.Invoice{{Number: "A", DueDate: day(3)}}, 0},
		{"the earliest due date", []models.Invoice{{Number: "A", DueDate: day(3)}, {Number: "B", DueDate: day(1)}, {Number: "C", DueDate: day(2)}}, 1},
		{"then the largest open amount", []models.Invoice{{Number: "A", DueDate: day(1), OpenMinor: 10}, {Number: "B", DueDate: day(1), OpenMinor: 20}}, 1},
		{"then the number", []models.Invoice{{Number: "B", DueDate: day(1), OpenMinor: 10}, {Number: "A", DueDate: day(1), OpenMinor: 10}}, 1},
	}
	for _, c := range cases {
		require.Equal(t, c.want, MostOverdue(c.invs), c.name)
	}
}

func TestDropOut(t *testing.T) {
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	before, after := at.Add(-time.Hour), at.Add(time.Hour)
	row := models.BundleRequest{CustomerID: 7, Currency: "EUR", InvoiceID: 1}
	open := models.Invoice{ID: 1, CustomerID: 7, Currency: "EUR", Status: models.InvoiceOpen, OpenMinor: 100}
	with := func(f func(*models.Invoice)) models.Invoice { i := open; f(&i); return i }
	cases := []struct {
		name    string
		inv     models.Invoice
		found   bool
		cust    models.Customer
		drop    bool
		requeue bool
		skipped bool
	}{
		{"open, stays", open, true, models.Customer{}, false, false, false},
		{"gone", models.Invoice{}, false, models.Customer{}, true, false, true},
		{"paid", with(func(i *models.Invoice) { i.Status, i.OpenMinor = models.InvoicePaid, 0 }), true, models.Customer{}, true, false, true},
		{"nothing open", with(func(i *models.Invoice) { i.OpenMinor = 0 }), true, models.Customer{}, true, false, true},
		{"paused", with(func(i *models.Invoice) { i.PausedAt = &before }), true, models.Customer{}, true, true, false},
		{"paused until later", with(func(i *models.Invoice) { i.PausedAt, i.PausedUntil = &before, &after }), true, models.Customer{}, true, true, false},
		{"a pause that ended", with(func(i *models.Invoice) { i.PausedAt, i.PausedUntil = &before, &before }), true, models.Customer{}, false, false, false},
		{"disputed", with(func(i *models.Invoice) { i.Disputed = true }), true, models.Customer{}, true, true, false},
		{"customer paused", open, true, models.Customer{PausedAt: &before}, true, true, false},
		{"customer's pause ended", open, true, models.Customer{PausedAt: &before, PausedUntil: &before}, false, false, false},
		{"moved to another customer", with(func(i *models.Invoice) { i.CustomerID = 8 }), true, models.Customer{}, true, true, false},
		{"another currency", with(func(i *models.Invoice) { i.Currency = "USD" }), true, models.Customer{}, true, true, false},
	}
	for _, c := range cases {
		ans, drop := dropOut(row, c.inv, c.found, &c.cust, 7, "EUR", at)
		require.Equal(t, c.drop, drop, c.name)
		require.Equal(t, c.requeue, ans.Requeue, c.name)
		require.Equal(t, c.skipped, ans.Result.Skipped, c.name)
		switch {
		case c.requeue:
			require.Equal(t, ReasonRequeued, ans.Reason, c.name)
		case c.skipped:
			require.Equal(t, ReasonInvoiceClosed, ans.Result.Reason, c.name)
		}
	}
}

func TestBundleWindowFor(t *testing.T) {
	require.Equal(t, 5*time.Minute, BundleWindowFor(24*time.Hour))
	require.Equal(t, 5*time.Minute, BundleWindowFor(0))
	require.Equal(t, 6*time.Second, BundleWindowFor(time.Minute))
	a := &Activities{Day: time.Minute}
	require.Equal(t, 6*time.Second, a.bundleWindow())
	a.BundleWindow = time.Second
	require.Equal(t, time.Second, a.bundleWindow())
}
