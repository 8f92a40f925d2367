package importer

import (
	"fmt"
	"strings"
	"time"
)

// Date bounds: outside them a date is a typo (0202 for 2020) or a
// "no date" placeholder (9999-12-31), not an invoice date.
const (
	minYear = 1900
	maxYear = 2999
)

// parseDate reads a date in one of the formats of the package documentation
// and returns it at 00:00 UTC, or a reason. mdy reads 02/01/2006 as
// February 1st instead of January 2nd.
func parseDate(v string, mdy bool) (time.Time, string) {
	datePart := v
	if i := strings.IndexAny(v, " Tt"); i >= 0 {
		datePart = v[:i]
		if !validTime(strings.TrimSpace(v[i+1:])) {
			return time.Time{}, unrecognisedDate(mdy)
		}
	}
	var ys, ms, ds string
	if len(datePart) == 8 && allDigits(datePart) {
		ys, ms, ds = datePart[:4], datePart[4:6], datePart[6:]
	} else {
		i := strings.IndexAny(datePart, "-/.")
		if i < 0 {
			return time.Time{}, unrecognisedDate(mdy)
		}
		parts := strings.Split(datePart, datePart[i:i+1])
		if len(parts) != 3 {
			return time.Time{}, unrecognisedDate(mdy)
		}
		for _, p := range parts {
			if p == "" || len(p) > 4 || !allDigits(p) {
				return time.Time{}, unrecognisedDate(mdy)
			}
		}
		switch {
		case len(parts[0]) == 4 && len(parts[1]) <= 2 && len(parts[2]) <= 2:
			ys, ms, ds = parts[0], parts[1], parts[2]
		case len(parts[2]) == 4 && len(parts[0]) <= 2 && len(parts[1]) <= 2:
			ds, ms, ys = parts[0], parts[1], parts[2]
			if mdy {
				ds, ms = ms, ds
			}
		case len(parts[2]) == 2 && len(parts[0]) <= 2 && len(parts[1]) <= 2:
			return time.Time{}, "year must have 4 digits"
		default:
			return time.Time{}, unrecognisedDate(mdy)
		}
	}
	y, m, d := atoi(ys), atoi(ms), atoi(ds)
	if y < minYear || y > maxYear {
		return time.Time{}, fmt.Sprintf("year out of range (%d-%d)", minYear, maxYear)
	}
	order := "day-month-year"
	if mdy {
		order = "month-day-year"
	}
	if m < 1 || m > 12 {
		return time.Time{}, fmt.Sprintf("invalid date: there is no month %d (dates are read %s)", m, order)
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if d < 1 || t.Day() != d {
		return time.Time{}, fmt.Sprintf("invalid date: %s %d has no day %d", time.Month(m), y, d)
	}
	return t, ""
}

func unrecognisedDate(mdy bool) string {
	if mdy {
		return "unrecognised date (write 2026-01-31 or 01/31/2026)"
	}
	return "unrecognised date (write 2026-01-31 or 31-01-2026)"
}

// validTime accepts the time part after a date: 15:04, 15:04:05, with a
// fraction of seconds, AM/PM, and a zone (Z, UTC, +02:00, +0200).
func validTime(s string) bool {
	i := 0
	num := func(minLen, maxLen, max int) bool {
		j := i
		for j < len(s) && j-i < maxLen && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j-i < minLen || atoi(s[i:j]) > max {
			return false
		}
		i = j
		return true
	}
	lit := func(c byte) bool {
		if i < len(s) && s[i] == c {
			i++
			return true
		}
		return false
	}
	if !num(1, 2, 23) || !lit(':') || !num(2, 2, 59) {
		return false
	}
	if lit(':') {
		if !num(2, 2, 60) {
			return false
		}
		if lit('.') || lit(',') {
			if !num(1, 9, 999999999) {
				return false
			}
		}
	}
	rest := strings.ToUpper(strings.TrimSpace(s[i:]))
	rest = strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(rest, "AM"), "PM"))
	switch {
	case rest == "", rest == "Z", rest == "UTC":
		return true
	case rest[0] == '+' || rest[0] == '-':
		z := strings.ReplaceAll(rest[1:], ":", "")
		return len(z) == 4 && allDigits(z) && atoi(z[:2]) <= 14 && atoi(z[2:]) <= 59
	}
	return false
}

// atoi converts a short run of ASCII digits already checked by the caller.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
