package render

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFormatMoney(t *testing.T) {
	tests := []struct {
		m    Money
		lang string
		want string
	}{
		{eur(123456), "nl", "€ 1.234,56"},
		{eur(123456), "fr", "1 234,56 €"},
		{eur(123456), "de", "1.234,56 €"},
		{eur(123456), "en", "€1,234.56"},
		{eur(-123456), "nl", "€ -1.234,56"},
		{eur(-123456), "fr", "-1 234,56 €"},
		{eur(-123456), "de", "-1.234,56 €"},
		{eur(-123456), "en", "-€1,234.56"},
		{eur(0), "en", "€0.00"},
		{eur(5), "nl", "€ 0,05"},
		{eur(100), "de", "1,00 €"},
		{eur(123456789012), "en", "€1,234,567,890.12"},
		{eur(123456789012), "fr", "1 234 567 890,12 €"},
		{Money{Minor: 123456, Currency: "GBP"}, "en", "£1,234.56"},
		{Money{Minor: 123456, Currency: "usd"}, "en", "USD 1,234.56"},
		{Money{Minor: 123456, Currency: "USD"}, "nl", "USD 1.234,56"},
		{Money{Minor: 123456, Currency: "CHF"}, "de", "1.234,56 CHF"},
		{Money{Minor: 123456, Currency: "JPY"}, "en", "JPY 123,456"},
		{Money{Minor: 123456, Currency: "JPY"}, "fr", "123 456 JPY"},
		{Money{Minor: 1234567, Currency: "KWD"}, "en", "KWD 1,234.567"},
		{Money{Minor: 1234567, Currency: "KWD"}, "de", "1.234,567 KWD"},
		{Money{Minor: 123456}, "en", "1,234.56"},
		{eur(123456), "nl-BE", "€ 1.234,56"},
		{eur(123456), "FR_be", "1 234,56 €"},
		{eur(123456), "es", "€1,234.56"},
		{eur(123456), "", "€1,234.56"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, FormatMoney(tt.m, tt.lang), "%+v %s", tt.m, tt.lang)
	}
	// The extreme values must not overflow.
	require.Equal(t, "-€92,233,720,368,547,758.08", FormatMoney(eur(math.MinInt64), "en"))
	require.Equal(t, "€92,233,720,368,547,758.07", FormatMoney(eur(math.MaxInt64), "en"))
}

func TestFormatDate(t *testing.T) {
	d := time.Date(2026, 11, 23, 23, 59, 0, 0, time.UTC)
	tests := []struct{ lang, want string }{
		{"nl", "23-11-2026"},
		{"fr", "23/11/2026"},
		{"de", "23.11.2026"},
		{"en", "23 Nov 2026"},
		{"pt", "23 Nov 2026"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, FormatDate(d, tt.lang), tt.lang)
	}
	require.Equal(t, "05.03.2026", FormatDate(day(2026, 3, 5), "de"))
	require.Equal(t, "5 Mar 2026", FormatDate(day(2026, 3, 5), "en"))
	require.Equal(t, "", FormatDate(time.Time{}, "nl"))
	// The date is the one of the time's own location.
	ams := time.FixedZone("CET", 3600)
	require.Equal(t, "24-11-2026", FormatDate(time.Date(2026, 11, 23, 23, 30, 0, 0, time.UTC).In(ams), "nl"))
}

func TestAccountAmounts(t *testing.T) {
	d := fullData("en")
	r := newRenderer(d)
	// INV-0031 (1130.00) and INV-0042 (750.00) are past due; INV-0050 is not.
	require.Equal(t, "€1,880.00", r.overdueAmount())
	require.Equal(t, "€2,130.00", r.totalDue())
	require.Equal(t, "€1,941.37", r.totalClaim())

	// Due today is not overdue, whatever the hour.
	d.Items = []Item{{Number: "A", DueDate: day(2026, 11, 23), Open: eur(100)}}
	require.Equal(t, "€0.00", newRenderer(d).overdueAmount())
	require.Equal(t, "€1.00", newRenderer(d).totalDue())

	// Mixed currencies are listed per currency, never added.
	d.Items = []Item{
		{Number: "A", DueDate: day(2026, 1, 1), Open: eur(100)},
		{Number: "B", DueDate: day(2026, 1, 2), Open: Money{Minor: 250, Currency: "USD"}},
		{Number: "C", DueDate: day(2026, 1, 3), Open: eur(-40)},
	}
	require.Equal(t, "€0.60 + USD 2.50", newRenderer(d).totalDue())
	require.Equal(t, "€ 0,60 + USD 2,50", newRenderer(Data{Language: "nl", Now: testNow, Items: d.Items}).overdueAmount())

	// No items: zero in the invoice's currency, or nothing at all.
	d.Items = nil
	require.Equal(t, "€0.00", newRenderer(d).totalDue())
	require.Equal(t, "", newRenderer(Data{}).totalDue())
}
