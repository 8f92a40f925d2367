package render

import (
	"strconv"
	"strings"

	"golang.org/x/text/currency"
)

// Money is an amount in minor units of an ISO 4217 currency (cents for EUR,
// yen for JPY, fils for KWD), so that no amount is ever a float.
type Money struct {
	Minor    int64
	Currency string
}

// currencyScale is the number of minor-unit digits of an ISO 4217 code,
// taken from CLDR through golang.org/x/text/currency; 2 for an unknown code.
func currencyScale(code string) int {
	u, err := currency.ParseISO(code)
	if err != nil {
		return 2
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale
}

// currencySymbols are the currencies shown by symbol; every other one is
// shown by its ISO code, which is never ambiguous ("$" could be five
// currencies, "USD" cannot).
var currencySymbols = map[string]string{"EUR": "€", "GBP": "£"}

// numberFormat is how a language writes an amount.
type numberFormat struct {
	group, decimal string
	// symbolFirst puts the currency before the number.
	symbolFirst bool
	// space separates symbol and number (a code is always separated).
	space bool
	// signInside puts the minus sign between the currency and the number
	// ("€ -1.234,56" in Dutch) instead of in front of everything.
	signInside bool
}

var numberFormats = map[string]numberFormat{
	"nl": {group: ".", decimal: ",", symbolFirst: true, space: true, signInside: true},
	"fr": {group: " ", decimal: ",", space: true},
	"de": {group: ".", decimal: ",", space: true},
	"en": {group: ",", decimal: ".", symbolFirst: true},
}

// FormatMoney writes m as a customer reading lang expects it: nl
// "€ 1.234,56", fr "1 234,56 €", de "1.234,56 €", en "€1,234.56", with the
// number of decimals of the currency (JPY 0, KWD 3). Currencies other than
// EUR and GBP are shown by their ISO code ("USD 1,234.56"). The fr group
// separator is a plain space, so that an amount in an SMS stays in the GSM
// alphabet; HTML output keeps amounts on one line by other means.
func FormatMoney(m Money, lang string) string {
	f := numberFormats[normLang(lang)]
	code := strings.ToUpper(strings.TrimSpace(m.Currency))
	scale := currencyScale(code)

	neg := m.Minor < 0
	abs := uint64(m.Minor)
	if neg {
		abs = uint64(-(m.Minor + 1)) + 1 // safe for math.MinInt64
	}
	pow := uint64(1)
	for range scale {
		pow *= 10
	}
	num := groupDigits(strconv.FormatUint(abs/pow, 10), f.group)
	if scale > 0 {
		frac := strconv.FormatUint(abs%pow, 10)
		num += f.decimal + strings.Repeat("0", scale-len(frac)) + frac
	}

	sym, isSymbol := currencySymbols[code]
	if !isSymbol {
		sym = code
	}
	sign := ""
	if neg {
		sign = "-"
	}
	if sym == "" {
		return sign + num
	}
	sep := ""
	if f.space || !isSymbol {
		sep = " "
	}
	switch {
	case !f.symbolFirst:
		return sign + num + sep + sym
	case f.signInside:
		return sym + sep + sign + num
	default:
		return sign + sym + sep + num
	}
}

// groupDigits inserts sep between groups of three digits.
func groupDigits(digits, sep string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	first := len(digits) % 3
	if first == 0 {
		first = 3
	}
	b.WriteString(digits[:first])
	for i := first; i < len(digits); i += 3 {
		b.WriteString(sep)
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// sumByCurrency adds amounts per currency, in the order in which the
// currencies first appear, because amounts in different currencies cannot
// be added.
func sumByCurrency(ms []Money) []Money {
	var out []Money
	for _, m := range ms {
		code := strings.ToUpper(strings.TrimSpace(m.Currency))
		found := false
		for i := range out {
			if out[i].Currency == code {
				out[i].Minor += m.Minor
				found = true
				break
			}
		}
		if !found {
			out = append(out, Money{Minor: m.Minor, Currency: code})
		}
	}
	return out
}

// formatSums writes one amount per currency joined with " + "; with no
// amounts at all it writes zero in fallback (or nothing without one).
func formatSums(sums []Money, fallback, lang string) string {
	if len(sums) == 0 {
		if fallback == "" {
			return ""
		}
		return FormatMoney(Money{Currency: fallback}, lang)
	}
	parts := make([]string, len(sums))
	for i, m := range sums {
		parts[i] = FormatMoney(m, lang)
	}
	return strings.Join(parts, " + ")
}

// Decimal writes m as a plain decimal number with the currency's number of
// decimals and a point, without grouping or symbol ("-1234.56", JPY
// "1234"): the form of machine-read files such as a case file's CSV.
func Decimal(m Money) string {
	scale := currencyScale(strings.ToUpper(strings.TrimSpace(m.Currency)))
	neg := m.Minor < 0
	v := m.Minor
	if neg {
		v = -v
	}
	s := strconv.FormatInt(v, 10)
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
