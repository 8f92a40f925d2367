package schedule

import (
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo

	"github.com/stretchr/testify/require"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

// at builds a local time in loc.
func at(loc *time.Location, y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, loc)
}

func TestIsBusinessDay(t *testing.T) {
	ams := mustLoad(t, "Europe/Amsterdam")
	tests := []struct {
		name    string
		country string
		date    time.Time // noon local
		want    bool
	}{
		{"weekday", "NL", at(ams, 2026, 4, 8, 12, 0), true},
		{"saturday", "NL", at(ams, 2026, 4, 11, 12, 0), false},
		{"sunday", "NL", at(ams, 2026, 4, 12, 12, 0), false},
		{"NL King's Day on a Monday", "NL", at(ams, 2026, 4, 27, 12, 0), false},
		{"NL King's Day 2025 moved to Saturday 26 April", "NL", at(ams, 2025, 4, 26, 12, 0), false},
		{"NL Monday after a Sunday King's Day is open", "NL", at(ams, 2025, 4, 28, 12, 0), true},
		{"NL Good Friday is not a day off", "NL", at(ams, 2026, 4, 3, 12, 0), true},
		{"DE Good Friday is a day off", "DE", at(ams, 2026, 4, 3, 12, 0), false},
		{"GB Good Friday is a day off", "GB", at(ams, 2026, 4, 3, 12, 0), false},
		{"NL Easter Monday", "NL", at(ams, 2026, 4, 6, 12, 0), false},
		{"BE Easter Monday", "BE", at(ams, 2026, 4, 6, 12, 0), false},
		{"FR Easter Monday", "FR", at(ams, 2026, 4, 6, 12, 0), false},
		{"DE Easter Monday", "DE", at(ams, 2026, 4, 6, 12, 0), false},
		{"GB Easter Monday", "GB", at(ams, 2026, 4, 6, 12, 0), false},
		{"NL Ascension", "NL", at(ams, 2026, 5, 14, 12, 0), false},
		{"NL Liberation Day in a lustrum year", "NL", at(ams, 2025, 5, 5, 12, 0), false},
		{"NL Liberation Day in another year", "NL", at(ams, 2026, 5, 5, 12, 0), true},
		{"NL Christmas", "NL", at(ams, 2026, 12, 25, 12, 0), false},
		{"FR 14 July", "FR", at(ams, 2026, 7, 14, 12, 0), false},
		{"NL 14 July", "NL", at(ams, 2026, 7, 14, 12, 0), true},
		{"BE 21 July", "BE", at(ams, 2026, 7, 21, 12, 0), false},
		{"DE 3 October", "DE", at(ams, 2025, 10, 3, 12, 0), false},
		{"GB early May bank holiday", "GB", at(ams, 2026, 5, 4, 12, 0), false},
		{"GB summer bank holiday", "GB", at(ams, 2026, 8, 31, 12, 0), false},
		{"GB Boxing Day substitute on Monday", "GB", at(ams, 2026, 12, 28, 12, 0), false},
		{"NL has no Boxing Day substitute", "NL", at(ams, 2026, 12, 28, 12, 0), true},
		{"UK is GB", "uk", at(ams, 2026, 5, 4, 12, 0), false},
		{"lower-case country", "nl", at(ams, 2026, 4, 27, 12, 0), false},
		{"unknown country: weekends only", "US", at(ams, 2026, 12, 25, 12, 0), true},
		{"no country: weekends only", "", at(ams, 2026, 4, 27, 12, 0), true},
		{"unknown country still skips weekends", "XX", at(ams, 2026, 12, 26, 12, 0), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := Window{Country: tc.country, Location: ams, StartHour: 9, EndHour: 17}
			require.Equal(t, tc.want, w.IsBusinessDay(tc.date))
		})
	}
}

func TestIsBusinessDayReadsTheWindowsZone(t *testing.T) {
	ams := mustLoad(t, "Europe/Amsterdam")
	w := Window{Country: "NL", Location: ams}
	// Friday 23:30 UTC is already Saturday in Amsterdam.
	require.False(t, w.IsBusinessDay(time.Date(2026, 4, 10, 23, 30, 0, 0, time.UTC)))
	// Sunday 22:30 UTC is already Monday in Amsterdam.
	require.True(t, w.IsBusinessDay(time.Date(2026, 4, 12, 22, 30, 0, 0, time.UTC)))
}

func TestNext(t *testing.T) {
	ams := mustLoad(t, "Europe/Amsterdam")
	lon := mustLoad(t, "Europe/London")
	tests := []struct {
		name string
		w    Window
		t    time.Time
		want time.Time
	}{
		{"inside hours stays", Window{Country: "NL", Location: ams, StartHour: 9, EndHour: 17},
			at(ams, 2026, 4, 8, 10, 15), at(ams, 2026, 4, 8, 10, 15)},
		{"at opening stays", Window{Country: "NL", Location: ams, StartHour: 9, EndHour: 17},
			at(ams, 2026, 4, 8, 9, 0), at(ams, 2026, 4, 8, 9, 0)},
		{"before hours moves to opening", Window{Country: "NL", Location: ams, StartHour: 9, EndHour: 17},
			at(ams, 2026, 4, 8, 6, 45), at(ams, 2026, 4, 8, 9, 0)},
		{"at closing moves to next morning", Window{Country: "NL", Location: ams, StartHour: 9, EndHour: 17},
			at(ams, 2026, 4, 8, 17, 0), at(ams, 2026, 4, 9, 9, 0)},
		{"after hours moves to next morning", Window{Country: "NL", Location: ams, StartHour: 9, EndHour: 17},
			at(ams, 2026, 4, 8, 18, 30), at(ams, 2026, 4, 9, 9, 0)},
		{"Friday evening moves to Monday", Window{Country: "NL", Location: ams, StartHour: 9, EndHour: 17},
			at(ams, 2026, 4, 10, 17, 30), at(ams, 2026, 4, 13, 9, 0)},
		{"Saturday moves to Monday", Window{Country: "NL", Location: ams, StartHour: 9, EndHour: 17},
			at(ams, 2026, 4, 11, 11, 0), at(ams, 2026, 4, 13, 9, 0)},
		{"Easter weekend and Easter Monday", Window{Country: "NL", Location: ams, StartHour: 9, EndHour: 17},
			at(ams, 2026, 4, 4, 11, 0), at(ams, 2026, 4, 7, 9, 0)},
		{"Christmas to after Boxing Day and the weekend", Window{Country: "NL", Location: ams, StartHour: 9, EndHour: 17},
			at(ams, 2026, 12, 24, 17, 5), at(ams, 2026, 12, 28, 9, 0)},
		{"GB Christmas to after the Boxing Day substitute", Window{Country: "GB", Location: lon, StartHour: 9, EndHour: 17},
			at(lon, 2026, 12, 25, 9, 0), at(lon, 2026, 12, 29, 9, 0)},
		{"other business hours", Window{Country: "FR", Location: ams, StartHour: 8, EndHour: 18},
			at(ams, 2026, 4, 8, 17, 59), at(ams, 2026, 4, 8, 17, 59)},
		{"default hours when unset", Window{Country: "NL", Location: ams},
			at(ams, 2026, 4, 8, 7, 0), at(ams, 2026, 4, 8, 9, 0)},
		{"default hours when invalid", Window{Country: "NL", Location: ams, StartHour: 17, EndHour: 9},
			at(ams, 2026, 4, 8, 7, 0), at(ams, 2026, 4, 8, 9, 0)},
		{"input in another zone", Window{Country: "NL", Location: ams, StartHour: 9, EndHour: 17},
			time.Date(2026, 4, 8, 16, 30, 0, 0, time.UTC), at(ams, 2026, 4, 9, 9, 0)},
		{"nil location is UTC", Window{Country: "NL", StartHour: 9, EndHour: 17},
			time.Date(2026, 4, 11, 10, 0, 0, 0, time.UTC), time.Date(2026, 4, 13, 9, 0, 0, 0, time.UTC)},
		{"morning of the DST change", Window{Country: "NL", Location: ams, StartHour: 9, EndHour: 17},
			at(ams, 2026, 3, 27, 18, 0), at(ams, 2026, 3, 30, 9, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.w.Next(tc.t)
			require.Equal(t, time.UTC, got.Location())
			require.True(t, tc.want.Equal(got), "want %s, got %s", tc.want.UTC(), got)
			require.True(t, tc.w.Next(got).Equal(got), "Next is idempotent")
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		start, end int
		ok         bool
	}{{0, 0, true}, {9, 17, true}, {0, 24, true}, {8, 8, false}, {17, 9, false}, {-1, 9, false}, {9, 25, false}} {
		err := Window{StartHour: tc.start, EndHour: tc.end}.Validate()
		if tc.ok {
			require.NoError(t, err, "%d-%d", tc.start, tc.end)
		} else {
			require.Error(t, err, "%d-%d", tc.start, tc.end)
		}
	}
}

func TestHasHolidayCalendar(t *testing.T) {
	for _, c := range []string{"NL", "be", "FR", "DE", "GB", "UK"} {
		require.True(t, HasHolidayCalendar(c), c)
	}
	for _, c := range []string{"", "US", "Netherlands"} {
		require.False(t, HasHolidayCalendar(c), c)
	}
}

func TestPlanRealDay(t *testing.T) {
	ams := mustLoad(t, "Europe/Amsterdam")
	brussels := mustLoad(t, "Europe/Brussels")
	paris := mustLoad(t, "Europe/Paris")
	berlin := mustLoad(t, "Europe/Berlin")
	london := mustLoad(t, "Europe/London")
	nl := Window{Country: "NL", Location: ams, StartHour: 9, EndHour: 17}

	tests := []struct {
		name    string
		due     time.Time
		offsets []int
		w       Window
		want    []time.Time
	}{
		{"weekday at the start hour", at(ams, 2026, 4, 1, 0, 0), []int{0, 7}, nl,
			[]time.Time{at(ams, 2026, 4, 1, 9, 0), at(ams, 2026, 4, 8, 9, 0)}},
		{"negative offset before due", at(ams, 2026, 4, 15, 0, 0), []int{-7, -1}, nl,
			[]time.Time{at(ams, 2026, 4, 8, 9, 0), at(ams, 2026, 4, 14, 9, 0)}},
		{"Saturday and Sunday both move to Monday", at(ams, 2026, 4, 10, 0, 0), []int{1, 2, 3}, nl,
			[]time.Time{at(ams, 2026, 4, 13, 9, 0), at(ams, 2026, 4, 13, 9, 0), at(ams, 2026, 4, 13, 9, 0)}},
		{"NL King's Day", at(ams, 2026, 4, 20, 0, 0), []int{7}, nl,
			[]time.Time{at(ams, 2026, 4, 28, 9, 0)}},
		{"NL King's Day on a Sunday, celebrated Saturday", at(ams, 2025, 4, 19, 0, 0), []int{7, 8}, nl,
			[]time.Time{at(ams, 2025, 4, 28, 9, 0), at(ams, 2025, 4, 28, 9, 0)}},
		{"NL Christmas", at(ams, 2026, 12, 18, 0, 0), []int{7}, nl,
			[]time.Time{at(ams, 2026, 12, 28, 9, 0)}},
		{"NL Easter Monday", at(ams, 2026, 3, 30, 0, 0), []int{7}, nl,
			[]time.Time{at(ams, 2026, 4, 7, 9, 0)}},
		{"BE Easter Monday", at(brussels, 2026, 3, 30, 0, 0), []int{7},
			Window{Country: "BE", Location: brussels, StartHour: 9, EndHour: 17},
			[]time.Time{at(brussels, 2026, 4, 7, 9, 0)}},
		{"FR Easter Monday", at(paris, 2026, 3, 30, 0, 0), []int{7},
			Window{Country: "FR", Location: paris, StartHour: 9, EndHour: 17},
			[]time.Time{at(paris, 2026, 4, 7, 9, 0)}},
		{"DE Good Friday to Easter Tuesday", at(berlin, 2026, 3, 27, 0, 0), []int{7, 10},
			Window{Country: "DE", Location: berlin, StartHour: 9, EndHour: 17},
			[]time.Time{at(berlin, 2026, 4, 7, 9, 0), at(berlin, 2026, 4, 7, 9, 0)}},
		{"GB early May bank holiday", at(london, 2026, 4, 27, 0, 0), []int{7},
			Window{Country: "GB", Location: london, StartHour: 9, EndHour: 17},
			[]time.Time{at(london, 2026, 5, 5, 9, 0)}},
		{"GB Christmas and Boxing Day substitute", at(london, 2026, 12, 18, 0, 0), []int{7},
			Window{Country: "GB", Location: london, StartHour: 9, EndHour: 17},
			[]time.Time{at(london, 2026, 12, 29, 9, 0)}},
		{"DST spring forward keeps 09:00 local", at(ams, 2026, 3, 27, 0, 0), []int{0, 3}, nl,
			[]time.Time{time.Date(2026, 3, 27, 8, 0, 0, 0, time.UTC), time.Date(2026, 3, 30, 7, 0, 0, 0, time.UTC)}},
		{"DST fall back keeps 09:00 local", at(ams, 2026, 10, 23, 0, 0), []int{0, 3}, nl,
			[]time.Time{time.Date(2026, 10, 23, 7, 0, 0, 0, time.UTC), time.Date(2026, 10, 26, 8, 0, 0, 0, time.UTC)}},
		{"due date given as noon UTC", time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC), []int{0}, nl,
			[]time.Time{at(ams, 2026, 4, 1, 9, 0)}},
		{"other start hour", at(ams, 2026, 4, 1, 0, 0), []int{0}, Window{Country: "NL", Location: ams, StartHour: 8, EndHour: 12},
			[]time.Time{at(ams, 2026, 4, 1, 8, 0)}},
		{"nil location is UTC", time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC), []int{0, 1},
			Window{Country: "NL", StartHour: 9, EndHour: 17},
			[]time.Time{time.Date(2026, 4, 10, 9, 0, 0, 0, time.UTC), time.Date(2026, 4, 13, 9, 0, 0, 0, time.UTC)}},
		{"year boundary", at(ams, 2026, 12, 24, 0, 0), []int{7, 8}, nl,
			[]time.Time{at(ams, 2026, 12, 31, 9, 0), at(ams, 2027, 1, 4, 9, 0)}},
		{"no offsets", at(ams, 2026, 4, 1, 0, 0), nil, nl, []time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, day := range []time.Duration{24 * time.Hour, 0} { // zero means 24h
				in := PlanInput{DueDate: tc.due, Offsets: tc.offsets, Day: day, Window: tc.w,
					Anchor: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)} // ignored at 24h
				got := Plan(in)
				require.Len(t, got, len(tc.want))
				for i := range got {
					require.Equal(t, time.UTC, got[i].Location())
					require.True(t, tc.want[i].Equal(got[i]), "step %d: want %s, got %s", i, tc.want[i].UTC(), got[i])
					if i > 0 {
						require.False(t, got[i].Before(got[i-1]), "non-decreasing")
					}
				}
				require.Equal(t, got, Plan(in), "deterministic")
			}
		})
	}
}

func TestPlanScaledDay(t *testing.T) {
	ams := mustLoad(t, "Europe/Amsterdam")
	w := Window{Country: "NL", Location: ams, StartHour: 9, EndHour: 17}
	anchor := at(ams, 2026, 4, 10, 14, 3).Add(5 * time.Second) // a Friday afternoon

	tests := []struct {
		name    string
		due     time.Time
		offsets []int
		anchor  time.Time
		day     time.Duration
		wantN   []int // steps are due at anchor + n*day
	}{
		{"past, today, future, weekend and King's Day ignored", at(ams, 2026, 4, 8, 0, 0),
			[]int{-7, 0, 2, 3, 5, 19}, anchor, 10 * time.Second, []int{-9, -2, 0, 1, 3, 17}},
		{"step today is at the anchor", at(ams, 2026, 4, 10, 0, 0), []int{0}, anchor, 10 * time.Second, []int{0}},
		{"anchor after local midnight, before UTC midnight", at(ams, 2026, 4, 10, 0, 0), []int{0, 1},
			at(ams, 2026, 4, 10, 0, 30), 10 * time.Second, []int{0, 1}},
		{"across DST counts calendar days", at(ams, 2026, 3, 28, 0, 0), []int{0, 1, 2},
			at(ams, 2026, 3, 28, 23, 0), time.Minute, []int{0, 1, 2}},
		{"one-hour day", at(ams, 2026, 4, 1, 0, 0), []int{0, 30}, anchor, time.Hour, []int{-9, 21}},
		{"48h day is scaled too", at(ams, 2026, 4, 10, 0, 0), []int{1}, anchor, 48 * time.Hour, []int{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Plan(PlanInput{DueDate: tc.due, Offsets: tc.offsets, Anchor: tc.anchor, Day: tc.day, Window: w})
			require.Len(t, got, len(tc.wantN))
			for i, n := range tc.wantN {
				want := tc.anchor.Add(time.Duration(n) * tc.day)
				require.Equal(t, time.UTC, got[i].Location())
				require.True(t, want.Equal(got[i]), "step %d: want %s, got %s", i, want.UTC(), got[i])
			}
		})
	}
}

func TestDaysBetween(t *testing.T) {
	ams := mustLoad(t, "Europe/Amsterdam")
	tests := []struct {
		name string
		a, b time.Time
		loc  *time.Location
		want int
	}{
		{"same instant", at(ams, 2026, 4, 8, 10, 0), at(ams, 2026, 4, 8, 10, 0), ams, 0},
		{"same date, different hours", at(ams, 2026, 4, 8, 0, 1), at(ams, 2026, 4, 8, 23, 59), ams, 0},
		{"one minute, next date", at(ams, 2026, 4, 8, 23, 59), at(ams, 2026, 4, 9, 0, 0), ams, 1},
		{"backwards is negative", at(ams, 2026, 4, 9, 12, 0), at(ams, 2026, 4, 1, 12, 0), ams, -8},
		{"across spring forward (47h)", at(ams, 2026, 3, 28, 12, 0), at(ams, 2026, 3, 30, 11, 0), ams, 2},
		{"across fall back (49h)", at(ams, 2026, 10, 24, 12, 0), at(ams, 2026, 10, 26, 13, 0), ams, 2},
		{"leap year", at(ams, 2028, 2, 28, 12, 0), at(ams, 2028, 3, 1, 12, 0), ams, 2},
		{"dates are read in loc", time.Date(2026, 4, 8, 22, 30, 0, 0, time.UTC), time.Date(2026, 4, 9, 12, 0, 0, 0, time.UTC), ams, 0},
		{"nil loc is UTC", time.Date(2026, 4, 8, 22, 30, 0, 0, time.UTC), time.Date(2026, 4, 9, 12, 0, 0, 0, time.UTC), nil, 1},
		{"a year", at(ams, 2026, 1, 1, 0, 0), at(ams, 2027, 1, 1, 0, 0), ams, 365},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, DaysBetween(tc.a, tc.b, tc.loc))
		})
	}
}

// BenchmarkPlan measures a typical 6-step journey at the real day length,
// the path that consults the holiday calendar.
func BenchmarkPlan(b *testing.B) {
	ams := mustLoad(b, "Europe/Amsterdam")
	in := PlanInput{
		DueDate: at(ams, 2026, 4, 20, 0, 0),
		Offsets: []int{-7, 0, 7, 14, 21, 35},
		Anchor:  at(ams, 2026, 4, 1, 10, 0),
		Day:     24 * time.Hour,
		Window:  Window{Country: "NL", Location: ams, StartHour: 9, EndHour: 17},
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = Plan(in)
	}
}

// BenchmarkPlanScaled measures the same journey at a demo day length.
func BenchmarkPlanScaled(b *testing.B) {
	ams := mustLoad(b, "Europe/Amsterdam")
	in := PlanInput{
		DueDate: at(ams, 2026, 4, 20, 0, 0),
		Offsets: []int{-7, 0, 7, 14, 21, 35},
		Anchor:  at(ams, 2026, 4, 1, 10, 0),
		Day:     10 * time.Second,
		Window:  Window{Country: "NL", Location: ams, StartHour: 9, EndHour: 17},
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = Plan(in)
	}
}

// TestPlanConcurrent runs Plan from many goroutines, as concurrent activities
// do; under -race it proves the shared holiday calendars are only read.
func TestPlanConcurrent(t *testing.T) {
	ams := mustLoad(t, "Europe/Amsterdam")
	in := PlanInput{
		DueDate: at(ams, 2026, 4, 20, 0, 0),
		Offsets: []int{-7, 0, 7, 14, 21, 35},
		Window:  Window{Country: "NL", Location: ams, StartHour: 9, EndHour: 17},
	}
	want := Plan(in)
	results := make(chan []time.Time, 8)
	for range 8 {
		go func() { results <- Plan(in) }()
	}
	for range 8 {
		require.Equal(t, want, <-results)
	}
}
