package importer

import (
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/currency"
)

// decimalConv is the decimal separator a file's unambiguous amounts use; it
// decides how an ambiguous amount such as "1.234" is read.
type decimalConv int

const (
	convUnknown decimalConv = iota // no unambiguous amount
	convComma                      // 1.234,56
	convPoint                      // 1,234.56
	convMixed                      // both seen: ambiguous amounts are rejected
)

// merge adds one value's vote to the file's convention.
func (c decimalConv) merge(v decimalConv) decimalConv {
	switch {
	case v == convUnknown || c == v:
		return c
	case c == convUnknown:
		return v
	default:
		return convMixed
	}
}

// Amount reasons shared by the validator and the tests.
const (
	reasonRequired   = "required"
	reasonNotNumber  = "not a number"
	reasonNegative   = "negative amount (credit notes are not imported as invoices)"
	reasonTooLarge   = "amount too large"
	reasonGrouping   = "invalid digit grouping"
	reasonAmbiguous  = "ambiguous: one separator followed by 3 digits may group thousands or mark decimals, and the file's other amounts do not say which; write the decimals too (1.234,00 or 1,234.00)"
	reasonExponent   = "use plain decimal notation, not an exponent"
	reasonBothAmount = "give amount or amount_minor, not both"
)

// amount is an amount taken apart, before it is scaled to minor units.
type amount struct {
	neg  bool
	code string // ISO code written next to the number, "" when none
	core string // digits and separators; spaces and apostrophes are ' '
	dec  byte   // decimal separator, 0 when none or not known yet
	grp  byte   // thousands separator, 0 when none
	amb  byte   // the separator of an ambiguous value, or 0
}

// vote is the decimal convention this value shows on its own.
func (a amount) vote() decimalConv {
	switch {
	case a.amb != 0:
		return convUnknown
	case a.dec == ',' || a.grp == '.':
		return convComma
	case a.dec == '.' || a.grp == ',':
		return convPoint
	}
	return convUnknown
}

// scanAmount takes a written amount apart: sign, currency symbol or code,
// and the number, whose separators it classifies (see the package
// documentation). It returns a reason when the text is not an amount.
func scanAmount(s string) (amount, string) {
	var a amount
	signs := 0
	for changed := true; changed; {
		changed = false
		s = strings.TrimSpace(s)
		if s == "" {
			break
		}
		if len(s) >= 2 && s[0] == '(' && s[len(s)-1] == ')' {
			signs++
			a.neg = true
			s = s[1 : len(s)-1]
			changed = true
			continue
		}
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == '-' || r == '\u2212':
			signs++
			a.neg = true
			s, changed = s[size:], true
		case r == '+':
			signs++
			s, changed = s[size:], true
		case unicode.Is(unicode.Sc, r):
			s, changed = s[size:], true
		case isASCIILetter(r):
			n := 0
			for n < len(s) && isASCIILetter(rune(s[n])) {
				n++
			}
			if n != 3 || a.code != "" {
				return a, reasonNotNumber
			}
			a.code = strings.ToUpper(s[:n])
			s, changed = s[n:], true
		}
		if s == "" {
			break
		}
		r, size = utf8.DecodeLastRuneInString(s)
		switch {
		case r == '-' || r == '\u2212':
			signs++
			a.neg = true
			s, changed = s[:len(s)-size], true
		case unicode.Is(unicode.Sc, r):
			s, changed = s[:len(s)-size], true
		case isASCIILetter(r):
			n := 0
			for n < len(s) && isASCIILetter(rune(s[len(s)-1-n])) {
				n++
			}
			if n != 3 || a.code != "" {
				return a, reasonNotNumber
			}
			a.code = strings.ToUpper(s[len(s)-n:])
			s, changed = s[:len(s)-n], true
		}
	}
	if signs > 1 || s == "" {
		return a, reasonNotNumber
	}

	// Spaces of every width and apostrophes (Swiss 1'234.56) group digits.
	var b strings.Builder
	digits, dots, commas, spaces := 0, 0, 0, 0
	lastDot, lastComma := -1, -1
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
			b.WriteRune(r)
		case r == '.':
			dots++
			lastDot = b.Len()
			b.WriteByte('.')
		case r == ',':
			commas++
			lastComma = b.Len()
			b.WriteByte(',')
		case r == ' ' || r == '\'' || r == '\u2019' || r == '\u00a0' || r == '\u202f' || r == '\u2009' || r == '\u2007':
			spaces++
			b.WriteByte(' ')
		default:
			return a, reasonNotNumber
		}
	}
	if digits == 0 {
		return a, reasonNotNumber
	}
	a.core = b.String()
	if spaces > 0 {
		a.grp = ' '
	}
	switch {
	case dots > 0 && commas > 0:
		if spaces > 0 {
			return a, reasonGrouping
		}
		a.dec, a.grp = ',', '.'
		if lastDot > lastComma {
			a.dec, a.grp = '.', ','
		}
		if strings.Count(a.core, string(a.dec)) > 1 {
			return a, reasonNotNumber
		}
	case dots+commas > 1:
		if spaces > 0 {
			return a, reasonGrouping
		}
		a.grp = '.'
		if commas > 0 {
			a.grp = ','
		}
	case dots+commas == 1:
		c := byte('.')
		i := lastDot
		if commas > 0 {
			c, i = ',', lastComma
		}
		before, after := a.core[:i], a.core[i+1:]
		if spaces > 0 || len(after) != 3 || before == "" || len(before) > 3 || before[0] == '0' {
			a.dec = c
		} else {
			a.amb = c
		}
	}
	return a, ""
}

// resolve settles an ambiguous separator with the file's convention.
func (a *amount) resolve(conv decimalConv) string {
	if a.amb == 0 {
		return ""
	}
	switch {
	case conv == convComma && a.amb == '.', conv == convPoint && a.amb == ',':
		a.grp = a.amb
	case conv == convComma && a.amb == ',', conv == convPoint && a.amb == '.':
		a.dec = a.amb
	default:
		return reasonAmbiguous
	}
	a.amb = 0
	return ""
}

// minor converts a resolved amount to minor units of a currency of the
// given scale, with integer arithmetic only. Decimals beyond the scale are
// accepted only when they are zeros.
func (a amount) minor(cur string, scale int) (int64, string) {
	intPart, frac := a.core, ""
	if a.dec != 0 {
		i := strings.LastIndexByte(a.core, a.dec)
		intPart, frac = a.core[:i], a.core[i+1:]
		if frac == "" || !allDigits(frac) {
			return 0, reasonNotNumber
		}
	}
	if a.grp != 0 {
		groups := strings.Split(intPart, string(a.grp))
		for i, g := range groups {
			if !allDigits(g) || g == "" || len(g) > 3 || (i > 0 && len(g) != 3) {
				return 0, reasonGrouping
			}
		}
	} else if !allDigits(intPart) {
		return 0, reasonNotNumber
	}
	if len(frac) > scale {
		if strings.Trim(frac[scale:], "0") != "" {
			if scale == 0 {
				return 0, fmt.Sprintf("%s amounts have no decimals", cur)
			}
			return 0, fmt.Sprintf("more than %d decimals (%s has %d)", scale, cur, scale)
		}
		frac = frac[:scale]
	}
	var v int64
	add := func(d int64) bool {
		if v > (math.MaxInt64-d)/10 {
			return false
		}
		v = v*10 + d
		return true
	}
	for i := 0; i < len(intPart); i++ {
		if c := intPart[i]; c >= '0' && c <= '9' && !add(int64(c-'0')) {
			return 0, reasonTooLarge
		}
	}
	for i := 0; i < scale; i++ {
		d := int64(0)
		if i < len(frac) {
			d = int64(frac[i] - '0')
		}
		if !add(d) {
			return 0, reasonTooLarge
		}
	}
	return v, ""
}

// parseAmount reads a written amount in minor units of cur. It returns a
// reason when the amount is unreadable, ambiguous under conv, negative, too
// precise for the currency, or too large.
func parseAmount(s, cur string, scale int, conv decimalConv) (int64, string) {
	a, reason := scanAmount(s)
	if reason != "" {
		return 0, reason
	}
	if a.code != "" && a.code != cur {
		if _, _, bad := parseCurrency(a.code); bad != "" {
			return 0, reasonNotNumber
		}
		return 0, fmt.Sprintf("amount is in %s but the row's currency is %s", a.code, cur)
	}
	if reason := a.resolve(conv); reason != "" {
		return 0, reason
	}
	v, reason := a.minor(cur, scale)
	if reason != "" {
		return 0, reason
	}
	if a.neg && v != 0 {
		return 0, reasonNegative
	}
	return v, ""
}

// parseJSONNumber reads a JSON number literal (always a decimal point) in
// minor units.
func parseJSONNumber(s, cur string, scale int) (int64, string) {
	if strings.ContainsAny(s, "eE") {
		return 0, reasonExponent
	}
	return parseAmount(s, cur, scale, convPoint)
}

// parseMinor reads an integer amount in minor units.
func parseMinor(s string) (int64, string) {
	neg := strings.HasPrefix(s, "-")
	digits := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	if digits == "" || !allDigits(digits) {
		return 0, "not an integer number of minor units"
	}
	var v int64
	for i := 0; i < len(digits); i++ {
		d := int64(digits[i] - '0')
		if v > (math.MaxInt64-d)/10 {
			return 0, reasonTooLarge
		}
		v = v*10 + d
	}
	if neg && v != 0 {
		return 0, reasonNegative
	}
	return v, ""
}

// nonTender are ISO 4217 codes that are not currencies invoices are issued
// in (precious metals, units of account, test and "no currency" codes).
var nonTender = map[string]bool{
	"XXX": true, "XTS": true, "XAU": true, "XAG": true, "XPT": true, "XPD": true,
	"XDR": true, "XBA": true, "XBB": true, "XBC": true, "XBD": true, "XSU": true, "XUA": true,
}

// parseCurrency validates an ISO 4217 code (the unambiguous symbols € and £
// are accepted too) and returns it upper-cased with its number of decimals.
func parseCurrency(v string) (code string, scale int, reason string) {
	switch v {
	case "€":
		v = "EUR"
	case "£":
		v = "GBP"
	}
	if len(v) != 3 || !isASCIILetter(rune(v[0])) || !isASCIILetter(rune(v[1])) || !isASCIILetter(rune(v[2])) {
		return "", 0, "not an ISO 4217 currency code"
	}
	u, err := currency.ParseISO(v)
	if err != nil || nonTender[u.String()] {
		return "", 0, fmt.Sprintf("unknown currency %s", strings.ToUpper(v))
	}
	scale, _ = currency.Standard.Rounding(u)
	return u.String(), scale, ""
}

func isASCIILetter(r rune) bool {
	return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
