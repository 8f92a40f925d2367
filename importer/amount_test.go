package importer

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in     string
		cur    string
		conv   decimalConv
		want   int64
		reason string
	}{
		// Unambiguous on their own.
		{in: "1234.56", cur: "EUR", want: 123456},
		{in: "1234,56", cur: "EUR", want: 123456},
		{in: "1.234,56", cur: "EUR", want: 123456},
		{in: "1,234.56", cur: "EUR", want: 123456},
		{in: "1 234,56", cur: "EUR", want: 123456},
		{in: "1\u00a0234,56", cur: "EUR", want: 123456},
		{in: "1\u202f234,56", cur: "EUR", want: 123456},
		{in: "1'234.56", cur: "CHF", want: 123456},
		{in: "1.234.567,89", cur: "EUR", want: 123456789},
		{in: "1,234,567", cur: "EUR", want: 123456700},
		{in: "1.234.567", cur: "EUR", want: 123456700},
		{in: "12,5", cur: "EUR", want: 1250},
		{in: "12.5", cur: "EUR", want: 1250},
		{in: "0.123", cur: "KWD", want: 123},
		{in: "1234.567", cur: "KWD", want: 1234567},
		{in: ",50", cur: "EUR", want: 50},
		{in: "250", cur: "EUR", want: 25000},
		{in: "250", cur: "JPY", want: 250},
		{in: "0", cur: "EUR", want: 0},
		{in: "-0,00", cur: "EUR", want: 0},
		{in: "+12,50", cur: "EUR", want: 1250},
		{in: "€ 12,50", cur: "EUR", want: 1250},
		{in: "€12,50", cur: "EUR", want: 1250},
		{in: "12,50 €", cur: "EUR", want: 1250},
		{in: "EUR 12,50", cur: "EUR", want: 1250},
		{in: "12,50eur", cur: "EUR", want: 1250},
		{in: "$1,234.50", cur: "USD", want: 123450},
		{in: "  1.234,56  ", cur: "EUR", want: 123456},
		{in: "0012,50", cur: "EUR", want: 1250},
		// Decimals beyond the scale: zeros are exact, anything else is not.
		{in: "12,5000", cur: "EUR", want: 1250},
		{in: "1500,0", cur: "JPY", want: 1500},
		{in: "12,345", cur: "EUR", conv: convComma, reason: "more than 2 decimals (EUR has 2)"},
		{in: "12.3456", cur: "EUR", reason: "more than 2 decimals (EUR has 2)"},
		{in: "1500,5", cur: "JPY", reason: "JPY amounts have no decimals"},
		{in: "1.2345", cur: "KWD", reason: "more than 3 decimals (KWD has 3)"},
		// One separator and three digits: the file decides.
		{in: "1.234", cur: "EUR", conv: convComma, want: 123400},
		{in: "1,234", cur: "EUR", conv: convPoint, want: 123400},
		{in: "1,234", cur: "KWD", conv: convComma, want: 1234},
		{in: "1.234", cur: "KWD", conv: convPoint, want: 1234},
		{in: "1.234", cur: "EUR", conv: convPoint, reason: "more than 2 decimals (EUR has 2)"},
		{in: "1.000", cur: "EUR", conv: convPoint, want: 100},
		{in: "150.000", cur: "JPY", conv: convComma, want: 150000},
		{in: "1.234", cur: "EUR", reason: reasonAmbiguous},
		{in: "1,234", cur: "EUR", conv: convMixed, reason: reasonAmbiguous},
		{in: "€ 999,999", cur: "EUR", reason: reasonAmbiguous},
		// Negative amounts are recognised, then refused.
		{in: "-12,50", cur: "EUR", reason: reasonNegative},
		{in: "(12.50)", cur: "EUR", reason: reasonNegative},
		{in: "( 12,50 )", cur: "EUR", reason: reasonNegative},
		{in: "12,50-", cur: "EUR", reason: reasonNegative},
		{in: "€ -12,50", cur: "EUR", reason: reasonNegative},
		{in: "-€ 12,50", cur: "EUR", reason: reasonNegative},
		{in: "\u221212,50", cur: "EUR", reason: reasonNegative},
		// Not amounts.
		{in: "", cur: "EUR", reason: reasonNotNumber},
		{in: "twaalf", cur: "EUR", reason: reasonNotNumber},
		{in: "12,50 euro", cur: "EUR", reason: reasonNotNumber},
		{in: "12a50", cur: "EUR", reason: reasonNotNumber},
		{in: "--12", cur: "EUR", reason: reasonNotNumber},
		{in: "-(12)", cur: "EUR", reason: reasonNotNumber},
		{in: "€", cur: "EUR", reason: reasonNotNumber},
		{in: "12,", cur: "EUR", reason: reasonNotNumber},
		{in: "1.234,56,7", cur: "EUR", reason: reasonNotNumber},
		{in: "1e3", cur: "EUR", reason: reasonNotNumber},
		{in: "ABC 12,50", cur: "EUR", reason: reasonNotNumber},
		{in: "USD 12,50", cur: "EUR", reason: "amount is in USD but the row's currency is EUR"},
		{in: "1.234.56", cur: "EUR", reason: reasonGrouping},
		{in: "12.34.567", cur: "EUR", reason: reasonGrouping},
		{in: "1 23,45", cur: "EUR", reason: reasonGrouping},
		{in: "1 234.567,89", cur: "EUR", reason: reasonGrouping},
		{in: "1,23,456.78", cur: "INR", reason: reasonGrouping},
		// int64 bounds, without floats.
		{in: "92233720368547758,07", cur: "EUR", want: 9223372036854775807},
		{in: "92233720368547758,08", cur: "EUR", reason: reasonTooLarge},
		{in: "99999999999999999999", cur: "EUR", reason: reasonTooLarge},
		{in: "9223372036854775807", cur: "JPY", want: 9223372036854775807},
	}
	for _, tt := range tests {
		t.Run(tt.cur+" "+tt.in, func(t *testing.T) {
			_, scale, bad := parseCurrency(tt.cur)
			require.Empty(t, bad)
			got, reason := parseAmount(tt.in, tt.cur, scale, tt.conv)
			require.Equal(t, tt.reason, reason)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestAmountVote(t *testing.T) {
	tests := map[string]decimalConv{
		"1.234,56":  convComma,
		"12,5":      convComma,
		"1.234.567": convComma,
		"1 234,567": convComma,
		"0,123":     convComma,
		"1234,567":  convComma,
		"1,234.56":  convPoint,
		"12.50":     convPoint,
		"1,234,567": convPoint,
		"1.234":     convUnknown,
		"999,999":   convUnknown,
		"1234":      convUnknown,
		"1 234":     convUnknown,
	}
	for in, want := range tests {
		a, reason := scanAmount(in)
		require.Empty(t, reason, in)
		require.Equal(t, want, a.vote(), in)
	}
	require.Equal(t, convComma, convUnknown.merge(convComma).merge(convUnknown).merge(convComma))
	require.Equal(t, convMixed, convComma.merge(convPoint))
}

func TestParseJSONNumberAndMinor(t *testing.T) {
	got, reason := parseJSONNumber("1.234", "EUR", 2)
	require.Equal(t, "more than 2 decimals (EUR has 2)", reason, "a JSON number always has a decimal point")
	require.Zero(t, got)
	got, reason = parseJSONNumber("1234.5", "EUR", 2)
	require.Empty(t, reason)
	require.Equal(t, int64(123450), got)
	_, reason = parseJSONNumber("1e3", "EUR", 2)
	require.Equal(t, reasonExponent, reason)

	got, reason = parseMinor("123456")
	require.Empty(t, reason)
	require.Equal(t, int64(123456), got)
	_, reason = parseMinor("-5")
	require.Equal(t, reasonNegative, reason)
	_, reason = parseMinor("12.5")
	require.Equal(t, "not an integer number of minor units", reason)
	_, reason = parseMinor("9223372036854775808")
	require.Equal(t, reasonTooLarge, reason)
}

func TestParseCurrency(t *testing.T) {
	for in, want := range map[string]struct {
		code  string
		scale int
	}{"EUR": {"EUR", 2}, "eur": {"EUR", 2}, "JPY": {"JPY", 0}, "KWD": {"KWD", 3}, "€": {"EUR", 2}, "£": {"GBP", 2}, "XOF": {"XOF", 0}} {
		code, scale, reason := parseCurrency(in)
		require.Empty(t, reason, in)
		require.Equal(t, want.code, code, in)
		require.Equal(t, want.scale, scale, in)
	}
	for in, reason := range map[string]string{
		"XYZ": "unknown currency XYZ", "xau": "unknown currency XAU", "XXX": "unknown currency XXX",
		"EURO": "not an ISO 4217 currency code", "$": "not an ISO 4217 currency code", "E1R": "not an ISO 4217 currency code",
	} {
		_, _, got := parseCurrency(in)
		require.Equal(t, reason, got, in)
	}
}

// formatMinor writes minor units as a plain amount with a decimal point.
func formatMinor(v int64, scale int) string {
	s := strconv.FormatInt(v, 10)
	if scale == 0 {
		return s
	}
	if len(s) <= scale {
		s = strings.Repeat("0", scale-len(s)+1) + s
	}
	return s[:len(s)-scale] + "." + s[len(s)-scale:]
}

// FuzzParseAmount checks that any input is either refused or read as a
// non-negative amount that reads back the same when written plainly, in
// both decimal conventions.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"1234.56", "1.234,56", "1,234.56", "1 234,56", "-12,50", "(12.50)", "€ 12,50",
		"1.234", "12,5000", "92233720368547758,07", "99999999999999999999", "1'234.56", "USD 1", "", ",5", "1\u202f234"} {
		f.Add(s, uint8(2), uint8(0))
	}
	f.Add("1.234", uint8(3), uint8(1))
	f.Add("1,5", uint8(0), uint8(2))
	curs := []string{"JPY", "EUR", "EUR", "KWD"}
	f.Fuzz(func(t *testing.T, s string, scale, conv uint8) {
		cur := curs[scale%4]
		_, sc, _ := parseCurrency(cur)
		v, reason := parseAmount(s, cur, sc, decimalConv(conv%4))
		if reason != "" {
			require.Zero(t, v)
			return
		}
		require.GreaterOrEqual(t, v, int64(0))
		plain := formatMinor(v, sc)
		back, reason := parseAmount(plain, cur, sc, convPoint)
		require.Empty(t, reason, plain)
		require.Equal(t, v, back, plain)
		comma := strings.Replace(plain, ".", ",", 1)
		back, reason = parseAmount(comma, cur, sc, convComma)
		require.Empty(t, reason, comma)
		require.Equal(t, v, back, comma)
	})
}
