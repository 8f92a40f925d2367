package activities_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
	_ "time/tzdata" // the expected instants must not depend on the machine's zoneinfo

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/journeys"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
)

// planFixture is an NL administration (Europe/Amsterdam, 09-17) with one
// customer and one invoice issued on Easter Monday 2026, due Monday 20 April.
type planFixture struct {
	db   *gorm.DB
	adm  models.Administration
	cust models.Customer
	inv  models.Invoice
}

func newPlanFixture(t *testing.T, gdb *gorm.DB) *planFixture {
	t.Helper()
	f := &planFixture{db: gdb}
	org := models.Organization{Name: "Plan", InboxRead: models.ReadManually}
	require.NoError(t, gdb.Create(&org).Error)
	f.adm = models.Administration{OrganizationID: org.ID, Name: "Plan BV", Country: "NL", TimeZone: "Europe/Amsterdam",
		Currency: "EUR", Language: "nl", AdministrationSettings: models.DefaultAdministrationSettings()}
	require.NoError(t, gdb.Create(&f.adm).Error)
	f.cust = models.Customer{AdministrationID: f.adm.ID, ExternalRef: "P-1", Name: "Klant", Language: "nl", Email: "k@example.com",
		Country: "NL", CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: fmt.Sprintf("plan-%d", time.Now().UnixNano())}
	require.NoError(t, gdb.Create(&f.cust).Error)
	f.inv = models.Invoice{AdministrationID: f.adm.ID, CustomerID: f.cust.ID, Number: "P-2026-1",
		IssueDate: date(2026, 4, 6), DueDate: date(2026, 4, 20), Currency: "EUR", AmountMinor: 10000, OpenMinor: 10000,
		Status: models.InvoiceOpen, Stage: "scheduled", WorkflowID: "invoice:x:P-2026-1"}
	require.NoError(t, gdb.Create(&f.inv).Error)
	return f
}

// date is a stored date: midnight UTC.
func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

var amsterdam = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		panic(err)
	}
	return loc
}()

// local is an instant in Amsterdam.
func local(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, amsterdam) }

func (f *planFixture) journey(t *testing.T, name string, gap int, steps ...journeys.Step) models.Journey {
	t.Helper()
	j := models.Journey{AdministrationID: f.adm.ID, Name: name, MinGapDays: gap}
	for i, s := range steps {
		j.Steps = append(j.Steps, models.JourneyStep{Position: i, OffsetDays: s.OffsetDays, Kind: string(s.Kind), Template: s.Template})
	}
	require.NoError(t, f.db.Create(&j).Error)
	return j
}

func (f *planFixture) plan(t *testing.T, day time.Duration, anchor time.Time) activities.PlanResult {
	t.Helper()
	acts := &activities.Activities{DB: f.db, Day: day}
	res, err := acts.PlanJourney(context.Background(), activities.PlanInput{
		AdministrationID: f.adm.ID, CustomerID: f.cust.ID, InvoiceID: f.inv.ID, Anchor: anchor,
	})
	require.NoError(t, err)
	return res
}

func requireTimes(t *testing.T, want []time.Time, res activities.PlanResult) {
	t.Helper()
	require.Len(t, res.Steps, len(want))
	for i, w := range want {
		require.True(t, w.Equal(res.Steps[i].At), "step %d (%s %+d): want %s, got %s",
			i, res.Steps[i].Kind, res.Steps[i].OffsetDays, w.In(amsterdam), res.Steps[i].At.In(amsterdam))
		require.Equal(t, time.UTC, res.Steps[i].At.Location())
	}
}

func TestPlanJourney(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		// The journey starts on the issue date, before any step.
		anchor := time.Date(2026, 4, 6, 6, 0, 0, 0, time.UTC)

		t.Run("shipped default on business days and hours, holidays skipped", func(t *testing.T) {
			f := newPlanFixture(t, gdb)
			res := f.plan(t, 24*time.Hour, anchor)
			require.Equal(t, int64(0), res.JourneyID)
			require.Equal(t, journeys.DefaultMinGapDays*24*time.Hour, res.MinGap)
			for i, s := range journeys.Default() {
				require.Equal(t, s.Kind, res.Steps[i].Kind)
				require.Equal(t, s.OffsetDays, res.Steps[i].OffsetDays)
				require.Equal(t, i, res.Steps[i].Position)
			}
			requireTimes(t, []time.Time{
				local(4, 7, 9),  // the invoice at issue: Easter Monday is a holiday, so Tuesday
				local(4, 28, 9), // due+7 = Monday 27 April, King's Day: Tuesday
				local(5, 4, 9),  // due+14 = Monday 4 May (Liberation Day is off only in lustrum years)
				local(5, 11, 9), // final reminder
				local(5, 11, 9), // its SMS, in the same slot
				local(5, 26, 9), // due+35 = Whit Monday 25 May: Tuesday
			}, res)
		})

		t.Run("customer's own journey, weekends skipped", func(t *testing.T) {
			f := newPlanFixture(t, gdb)
			def := f.journey(t, "Administration default", 3, journeys.Step{OffsetDays: 1, Kind: policy.StepReminder, Template: "default"})
			require.NoError(t, gdb.Model(&f.adm).Update("default_journey_id", def.ID).Error)
			own := f.journey(t, "Own", 2,
				journeys.Step{OffsetDays: 0, Kind: policy.StepReminder, Template: "default"},
				journeys.Step{OffsetDays: 5, Kind: policy.StepReminder, Template: "firm"},
				journeys.Step{OffsetDays: 6, Kind: policy.StepFinalReminder, Template: "default"})
			require.NoError(t, gdb.Model(&f.cust).Update("journey_id", own.ID).Error)
			res := f.plan(t, 24*time.Hour, anchor)
			require.Equal(t, own.ID, res.JourneyID)
			require.Equal(t, "Own", res.JourneyName)
			require.Equal(t, 48*time.Hour, res.MinGap)
			require.Equal(t, "firm", res.Steps[1].Template)
			requireTimes(t, []time.Time{
				local(4, 20, 9), // due date, a Monday
				local(4, 28, 9), // Saturday 25 April: Monday 27 is King's Day, so Tuesday
				local(4, 28, 9), // Sunday 26 April: the same
			}, res)

			// Without its own journey the customer follows the administration's default.
			require.NoError(t, gdb.Model(&f.cust).Update("journey_id", nil).Error)
			res = f.plan(t, 24*time.Hour, anchor)
			require.Equal(t, def.ID, res.JourneyID)
			requireTimes(t, []time.Time{local(4, 21, 9)}, res)
		})

		t.Run("another country and time zone", func(t *testing.T) {
			f := newPlanFixture(t, gdb)
			require.NoError(t, gdb.Model(&f.adm).Updates(map[string]any{"country": "GB", "time_zone": "Europe/London",
				"send_window_start": 8, "send_window_end": 12}).Error)
			j := f.journey(t, "GB", 3, journeys.Step{OffsetDays: 14, Kind: policy.StepReminder, Template: "default"})
			require.NoError(t, gdb.Model(&f.adm).Update("default_journey_id", j.ID).Error)
			london, err := time.LoadLocation("Europe/London")
			require.NoError(t, err)
			// due+14 = Monday 4 May, the early May bank holiday in GB (not in NL): Tuesday, 08:00 London.
			requireTimes(t, []time.Time{time.Date(2026, 5, 5, 8, 0, 0, 0, london)}, f.plan(t, 24*time.Hour, anchor))
		})

		t.Run("a late import sends its past steps in the next send window", func(t *testing.T) {
			f := newPlanFixture(t, gdb)
			// Saturday 2 May, noon: the invoice and the first reminder are past.
			late := time.Date(2026, 5, 2, 10, 0, 0, 0, time.UTC)
			res := f.plan(t, 24*time.Hour, late)
			requireTimes(t, []time.Time{local(5, 4, 9), local(5, 4, 9), local(5, 4, 9), local(5, 11, 9), local(5, 11, 9), local(5, 26, 9)}, res)
		})

		t.Run("a scaled day has no windows", func(t *testing.T) {
			f := newPlanFixture(t, gdb)
			res := f.plan(t, 10*time.Second, anchor)
			require.Equal(t, 30*time.Second, res.MinGap)
			// Day 0 is the anchor (6 April); the invoice goes at once, due+7 is day 21.
			require.True(t, anchor.Equal(res.Steps[0].At))
			require.True(t, anchor.Add(21*10*time.Second).Equal(res.Steps[1].At))
			require.True(t, anchor.Add(49*10*time.Second).Equal(res.Steps[5].At))
		})

		t.Run("permanent errors", func(t *testing.T) {
			f := newPlanFixture(t, gdb)
			acts := &activities.Activities{DB: gdb, Day: 24 * time.Hour}
			_, err := acts.PlanJourney(context.Background(), activities.PlanInput{AdministrationID: f.adm.ID + 1000, InvoiceID: f.inv.ID, Anchor: anchor})
			// A missing invoice has its own type: the one failure that ends a journey.
			require.ErrorContains(t, err, "not found")
			var gone *temporal.ApplicationError
			require.True(t, errors.As(err, &gone), "%v", err)
			require.True(t, gone.NonRetryable())
			require.Equal(t, activities.ErrTypeInvoiceGone, gone.Type())

			require.NoError(t, gdb.Model(&f.adm).Update("time_zone", "Mars/Olympus").Error)
			_, err = acts.PlanJourney(context.Background(), activities.PlanInput{AdministrationID: f.adm.ID, InvoiceID: f.inv.ID, Anchor: anchor})
			requirePermanent(t, err, "Mars/Olympus")
		})
	})
}

func requirePermanent(t *testing.T, err error, contains string) {
	t.Helper()
	require.ErrorContains(t, err, contains)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	require.True(t, app.NonRetryable())
	require.Equal(t, activities.ErrTypePermanent, app.Type())
}
