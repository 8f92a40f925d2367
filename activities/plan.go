package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"

	"github.com/relance/relance/journeys"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/schedule"
)

// PlanJourney returns the journey that applies to the invoice now (the
// customer's own, else the administration's default, else the shipped one)
// with the instant each step falls due on the administration's send window.
func (a *Activities) PlanJourney(ctx context.Context, in PlanInput) (PlanResult, error) {
	db := a.DB.WithContext(ctx)
	var inv models.Invoice
	if err := db.First(&inv, "id = ? AND administration_id = ?", in.InvoiceID, in.AdministrationID).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			// The journey cannot be for anything: it ends (ErrTypeInvoiceGone).
			return PlanResult{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("invoice %d not found", in.InvoiceID), ErrTypeInvoiceGone, err)
		}
		return PlanResult{}, notFound("invoice", in.InvoiceID, err)
	}
	var cust models.Customer
	if err := db.First(&cust, "id = ?", inv.CustomerID).Error; err != nil {
		return PlanResult{}, notFound("customer", inv.CustomerID, err)
	}
	var adm models.Administration
	if err := db.First(&adm, "id = ?", inv.AdministrationID).Error; err != nil {
		return PlanResult{}, notFound("administration", inv.AdministrationID, err)
	}
	steps, j, err := a.journeyFor(ctx, &adm, &cust)
	if err != nil {
		return PlanResult{}, err
	}
	loc, err := time.LoadLocation(adm.TimeZone)
	if err != nil {
		return PlanResult{}, permanent(fmt.Errorf("administration %d time zone %q: %w", adm.ID, adm.TimeZone, err))
	}
	offsets := make([]int, len(steps))
	for i, s := range steps {
		offsets[i] = s.OffsetDays
		// Nothing goes out before the invoice exists: earlier steps move to the issue date.
		if min := -schedule.DaysBetween(inv.IssueDate, inv.DueDate, time.UTC); offsets[i] < min {
			offsets[i] = min
		}
	}
	window := schedule.Window{Country: adm.Country, Location: loc, StartHour: adm.SendWindowStart, EndHour: adm.SendWindowEnd}
	planIn := schedule.PlanInput{
		DueDate: civil(inv.DueDate, loc),
		Offsets: offsets,
		Anchor:  in.Anchor,
		Day:     a.Day,
		Window:  window,
	}
	times := schedule.Plan(planIn)
	kinds := make([]policy.StepKind, len(steps))
	for i, s := range steps {
		kinds[i] = s.Kind
	}
	times = capLateEntry(lateEntry{Kinds: kinds, Offsets: offsets, Times: times, Plan: planIn,
		Rule: adm.LateEntry, MaxStep: policy.StepKind(adm.LateEntryMaxStep)})
	if a.Day <= 0 || a.Day == 24*time.Hour {
		// A step already past when the journey started (a late import) goes
		// in the first send window from then on, not at once at night.
		first := window.Next(in.Anchor)
		for i, t := range times {
			if t.Before(in.Anchor) {
				times[i] = first
			}
		}
	}
	res := PlanResult{JourneyID: j.ID, JourneyName: j.Name, MinGap: time.Duration(j.MinGapDays) * a.Day}
	for i, s := range steps {
		res.Steps = append(res.Steps, PlannedStep{Position: i, OffsetDays: s.OffsetDays, Kind: s.Kind, Template: s.Template, At: times[i]})
	}
	return res, nil
}

// journeyFor picks the customer's journey, the administration's default, or the shipped default.
func (a *Activities) journeyFor(ctx context.Context, adm *models.Administration, cust *models.Customer) ([]journeys.Step, models.Journey, error) {
	id := cust.EffectiveJourneyID(adm)
	if id == 0 {
		return journeys.Default(), models.Journey{Name: "Default", MinGapDays: journeys.DefaultMinGapDays}, nil
	}
	var j models.Journey
	err := a.DB.WithContext(ctx).Preload("Steps", func(db *gorm.DB) *gorm.DB { return db.Order("position") }).First(&j, "id = ? AND administration_id = ?", id, adm.ID).Error
	if err != nil {
		return nil, j, notFound("journey", id, err)
	}
	return j.StepList(), j, nil
}

// civil reads a stored date (00:00 UTC) as the same calendar date in loc.
func civil(d time.Time, loc *time.Location) time.Time {
	y, m, day := d.UTC().Date()
	return time.Date(y, m, day, 0, 0, 0, 0, loc)
}
