package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/be"
	"github.com/rickar/cal/v2/de"
	"github.com/rickar/cal/v2/fr"
	"github.com/rickar/cal/v2/gb"
	"github.com/rickar/cal/v2/nl"
)

// Default business hours, used when a Window leaves them unset (both zero) or
// sets them out of range: a message should arrive when someone in accounts
// payable is at the desk.
const (
	DefaultStartHour = 9
	DefaultEndHour   = 17
)

// maxSearchDays bounds the search for the next business day. Real calendars
// have at most a handful of consecutive days off; the bound only guarantees
// termination.
const maxSearchDays = 366

// Window is a send window: the business days and hours of an
// administration's country and time zone, during which messages go out.
type Window struct {
	// Country is the ISO 3166 alpha-2 code whose public holidays are skipped
	// (NL, BE, FR, DE, GB; case-insensitive, UK accepted for GB). Any other
	// value, or none, skips weekends only.
	Country string
	// Location is the administration's time zone; nil means UTC.
	Location *time.Location
	// StartHour and EndHour bound business hours, [StartHour, EndHour) in
	// local time, e.g. 9 and 17. Both zero means the defaults.
	StartHour, EndHour int
}

// holidayCalendars holds, per country, the public holidays that are days off
// for most businesses. The calendars are built once and only read afterwards
// (no caching), so they are safe for concurrent use.
var holidayCalendars = map[string]*cal.Calendar{
	// Netherlands: the holidays of the Algemene termijnenwet. Good Friday is
	// left out (not a day off for most employers); Liberation Day is a
	// general day off only in lustrum years (every fifth year).
	"NL": {Name: "NL", Holidays: []*cal.Holiday{
		nl.Nieuwjaar, nl.TweedePaasdag, nl.Koningsdag, nlLiberationDayLustrum(), nl.Hemelvaart,
		nl.TweedePinksterDag, nl.EersteKerstdag, nl.TweedeKerstdag,
	}},
	// Belgium: the ten legal public holidays.
	"BE": {Name: "BE", Holidays: be.Holidays},
	// France: the eleven jours fériés.
	"FR": {Name: "FR", Holidays: fr.Holidays},
	// Germany: the nationwide Feiertage only; a Window has no region, and a
	// message on a regional holiday does no harm.
	"DE": {Name: "DE", Holidays: de.Holidays},
	// United Kingdom: the bank holidays of England and Wales, with their
	// substitute days.
	"GB": {Name: "GB", Holidays: gb.Holidays},
}

// nlLiberationDayLustrum is Bevrijdingsdag (5 May), observed as a day off only
// in years divisible by five, as most Dutch collective agreements do.
func nlLiberationDayLustrum() *cal.Holiday {
	h := nl.BevrijdingsDag.Clone(&cal.Holiday{Type: cal.ObservancePublic})
	h.Func = func(h *cal.Holiday, year int) time.Time {
		if year%5 != 0 {
			return time.Time{} // not observed this year
		}
		return cal.CalcDayOfMonth(h, year)
	}
	return h
}

// countryCode normalises a country code for the calendar lookup, accepting
// the common "UK" for GB.
func countryCode(country string) string {
	c := strings.ToUpper(strings.TrimSpace(country))
	if c == "UK" {
		return "GB"
	}
	return c
}

// HasHolidayCalendar reports whether public holidays of country are known, so
// that configuration can warn when a Window would skip weekends only.
func HasHolidayCalendar(country string) bool {
	_, ok := holidayCalendars[countryCode(country)]
	return ok
}

// Validate reports business hours that Next would replace by the defaults,
// so that a configuration error is shown rather than silently corrected.
func (w Window) Validate() error {
	if w.StartHour == 0 && w.EndHour == 0 {
		return nil
	}
	if w.StartHour < 0 || w.EndHour > 24 || w.StartHour >= w.EndHour {
		return fmt.Errorf("business hours %d-%d: want 0 <= start < end <= 24", w.StartHour, w.EndHour)
	}
	return nil
}

// location returns the window's time zone, UTC when unset, so that a zero
// Window is usable.
func (w Window) location() *time.Location {
	if w.Location == nil {
		return time.UTC
	}
	return w.Location
}

// hours returns the business hours to use: the window's when valid, the
// defaults otherwise (see Validate).
func (w Window) hours() (start, end int) {
	if (w.StartHour == 0 && w.EndHour == 0) || w.Validate() != nil {
		return DefaultStartHour, DefaultEndHour
	}
	return w.StartHour, w.EndHour
}

// IsBusinessDay reports whether the calendar date of d in the window's time
// zone is a business day: not a Saturday or Sunday and not a public holiday
// (or its substitute day) of the window's country.
func (w Window) IsBusinessDay(d time.Time) bool {
	d = d.In(w.location())
	switch d.Weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	c, ok := holidayCalendars[countryCode(w.Country)]
	if !ok {
		return true
	}
	actual, observed, _ := c.IsHoliday(d)
	return !actual && !observed
}

// Next returns the earliest instant at or after t that lies inside business
// hours on a business day in the window's time zone, in UTC. t itself is
// returned when it is already inside the window. Days are stepped with
// time.Date in the location, never by adding 24h, so DST changes keep the
// local opening hour.
func (w Window) Next(t time.Time) time.Time {
	loc := w.location()
	start, end := w.hours()
	lt := t.In(loc)
	y, m, d := lt.Date()
	for i := 0; i < maxSearchDays; i++ {
		open := time.Date(y, m, d+i, start, 0, 0, 0, loc)
		if !w.IsBusinessDay(open) {
			continue
		}
		if i > 0 || lt.Before(open) {
			return open.UTC()
		}
		if lt.Before(time.Date(y, m, d, end, 0, 0, 0, loc)) {
			return t.UTC()
		}
	}
	// Unreachable with real calendars; fall back to t rather than loop.
	return t.UTC()
}
