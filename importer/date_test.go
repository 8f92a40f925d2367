package importer

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseDate(t *testing.T) {
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		in     string
		mdy    bool
		want   time.Time
		reason string
	}{
		{in: "2026-01-02", want: d(2026, 1, 2)},
		{in: "2026/01/02", want: d(2026, 1, 2)},
		{in: "2026.1.2", want: d(2026, 1, 2)},
		{in: "20260102", want: d(2026, 1, 2)},
		{in: "02-01-2026", want: d(2026, 1, 2)},
		{in: "02/01/2026", want: d(2026, 1, 2)},
		{in: "02.01.2026", want: d(2026, 1, 2)},
		{in: "2/1/2026", want: d(2026, 1, 2)},
		{in: "02/01/2026", mdy: true, want: d(2026, 2, 1)},
		{in: "12/31/2026", mdy: true, want: d(2026, 12, 31)},
		{in: "2026-01-02", mdy: true, want: d(2026, 1, 2)},
		{in: "29/02/2028", want: d(2028, 2, 29)},
		// A time is dropped; the date is the one written, whatever the zone.
		{in: "2026-01-02T15:04:05", want: d(2026, 1, 2)},
		{in: "2026-01-02T23:59:59.999+14:00", want: d(2026, 1, 2)},
		{in: "2026-01-02T00:30:00Z", want: d(2026, 1, 2)},
		{in: "2026-01-02 15:04", want: d(2026, 1, 2)},
		{in: "02-01-2026 00:00:00", want: d(2026, 1, 2)},
		{in: "1/2/2026 3:04 PM", mdy: true, want: d(2026, 1, 2)},
		{in: "2026-01-02T25:00:00", reason: "unrecognised date (write 2026-01-31 or 31-01-2026)"},
		{in: "2026-01-02T", reason: "unrecognised date (write 2026-01-31 or 31-01-2026)"},
		{in: "2026-01-02T15:04:05+2", reason: "unrecognised date (write 2026-01-31 or 31-01-2026)"},
		// Invalid calendar dates are refused, never rolled over.
		{in: "31/02/2026", reason: "invalid date: February 2026 has no day 31"},
		{in: "29/02/2026", reason: "invalid date: February 2026 has no day 29"},
		{in: "00/01/2026", reason: "invalid date: January 2026 has no day 0"},
		{in: "15/13/2026", reason: "invalid date: there is no month 13 (dates are read day-month-year)"},
		{in: "12/31/2026", reason: "invalid date: there is no month 31 (dates are read day-month-year)"},
		{in: "31/12/2026", mdy: true, reason: "invalid date: there is no month 31 (dates are read month-day-year)"},
		{in: "2026-00-10", reason: "invalid date: there is no month 0 (dates are read day-month-year)"},
		{in: "02/01/26", reason: "year must have 4 digits"},
		{in: "9999-12-31", reason: "year out of range (1900-2999)"},
		{in: "0202-01-01", reason: "year out of range (1900-2999)"},
		{in: "", reason: "unrecognised date (write 2026-01-31 or 31-01-2026)"},
		{in: "next week", reason: "unrecognised date (write 2026-01-31 or 31-01-2026)"},
		{in: "2026-01", reason: "unrecognised date (write 2026-01-31 or 31-01-2026)"},
		{in: "2026-01/02", reason: "unrecognised date (write 2026-01-31 or 31-01-2026)"},
		{in: "45678", reason: "unrecognised date (write 2026-01-31 or 31-01-2026)"},
		{in: "2026-001-02", reason: "unrecognised date (write 2026-01-31 or 31-01-2026)"},
		{in: "Jan 2, 2026", mdy: true, reason: "unrecognised date (write 2026-01-31 or 01/31/2026)"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, reason := parseDate(tt.in, tt.mdy)
			require.Equal(t, tt.reason, reason)
			require.True(t, tt.want.Equal(got), "got %s", got)
			if reason == "" {
				require.Equal(t, time.UTC, got.Location())
			}
		})
	}
}
