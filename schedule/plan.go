package schedule

import "time"

// realDay is the production day length; only at this length do send windows
// and holidays apply (docs/domain.md §1.4).
const realDay = 24 * time.Hour

// PlanInput describes one invoice's journey for Plan.
type PlanInput struct {
	// DueDate is the invoice's due date. Only its year, month and day are
	// used, read in Window.Location: pass midnight (or noon) of the date in
	// that location, since a midnight-UTC date read in a zone west of UTC
	// would fall on the day before.
	DueDate time.Time
	// Offsets are the steps' offsets in days from the due date (negative =
	// before), ascending; Plan returns one instant per offset, in order.
	Offsets []int
	// Anchor is the instant the journey started; it is the origin of a scaled
	// plan and ignored at the real day length.
	Anchor time.Time
	// Day is the length of a journey day (RELANCE_DAY): 24h in production,
	// e.g. 10s in demos. Zero or negative means 24h.
	Day time.Duration
	// Window is the send window of the administration.
	Window Window
}

// Plan returns, for each offset, the instant its step is due, in UTC.
//
// At the real day length the step falls on DueDate+offset at the window's
// start hour, moved forward by Window.Next past weekends, holidays and
// closed hours (two steps may thus land on the same instant). At a scaled
// day length windows and holidays do not apply and the step is due at
// Anchor + DaysBetween(Anchor, DueDate+offset) * Day, so a step dated today
// is due at the anchor, and a past step before it.
//
// Plan is pure and deterministic; it allocates only the result.
func Plan(in PlanInput) []time.Time {
	w := in.Window
	loc := w.location()
	y, m, d := in.DueDate.In(loc).Date()
	out := make([]time.Time, len(in.Offsets))

	if in.Day <= 0 || in.Day == realDay {
		start, _ := w.hours()
		for i, off := range in.Offsets {
			out[i] = w.Next(time.Date(y, m, d+off, start, 0, 0, 0, loc))
		}
		return out
	}

	anchorDate := civilDate(in.Anchor, loc)
	for i, off := range in.Offsets {
		n := daysBetweenCivil(anchorDate, time.Date(y, m, d+off, 0, 0, 0, 0, time.UTC))
		out[i] = in.Anchor.Add(time.Duration(n) * in.Day).UTC()
	}
	return out
}

// DaysBetween returns the number of calendar days from a's date to b's date,
// both read in loc (UTC when nil): 0 on the same date, positive when b is
// later. It counts dates, not 24h periods, so a DST change or the time of day
// does not affect it.
func DaysBetween(a, b time.Time, loc *time.Location) int {
	if loc == nil {
		loc = time.UTC
	}
	return daysBetweenCivil(civilDate(a, loc), civilDate(b, loc))
}

// civilDate returns t's calendar date in loc as midnight UTC, a zone without
// DST in which dates are exactly 24h apart.
func civilDate(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// daysBetweenCivil counts days between two midnight-UTC dates.
func daysBetweenCivil(a, b time.Time) int {
	return int(b.Sub(a) / realDay)
}
