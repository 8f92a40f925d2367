package importer

import (
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/relance/relance/policy"
)

const (
	maxFieldLen = 255 // characters, the database column size
	maxValueLen = 100 // characters of a value quoted in a RowError
	maxDupLines = 10  // lines listed in a duplicate-number reason
)

// rawRow is one data row as read, before validation: the same for CSV and
// JSON, so both are validated by the same code.
type rawRow struct {
	line int
	vals [numCols]string
	num  [numCols]bool // the value was a number (JSON, XLSX): decimal point
	// present are the fields whose column (key) the row has.
	present FieldSet
	// broken rows (wrong field count, bad quoting, not a JSON object) have
	// misaligned or missing values: only their own errors are reported.
	broken bool
	errs   []RowError
}

// checked is a row after validation.
type checked struct {
	row    Row
	errs   []RowError
	warns  []RowError
	custOK bool // customer columns valid: the row can take part in conflict checks
}

// finish validates the rows read, then checks duplicates and customer
// conflicts across the file, and builds the Result.
func finish(set settings, raws []rawRow, h header) Result {
	conv := convUnknown
	for i := range raws {
		if raws[i].broken {
			continue
		}
		for _, c := range [...]colID{colAmount, colOpenAmount} {
			if v := raws[i].vals[c]; v != "" && !raws[i].num[c] {
				if a, reason := scanAmount(v); reason == "" {
					conv = conv.merge(a.vote())
				}
			}
		}
	}

	rows := make([]checked, len(raws))
	for i := range raws {
		check(set, conv, &raws[i], &rows[i])
	}
	checkDuplicates(raws, rows)
	checkConflicts(raws, rows)

	res := Result{Total: len(raws), Rows: make([]Row, 0, len(raws)), Ignored: h.ignored, Columns: h.uses}
	// A customer's contact data repeats on each of its rows: its warning is
	// listed once, on the first row that has it.
	warned := map[[3]string]bool{}
	for i := range rows {
		if len(rows[i].errs) == 0 {
			res.Rows = append(res.Rows, rows[i].row)
			for _, w := range rows[i].warns {
				key := [3]string{rows[i].row.Customer.Ref, w.Field, w.Value}
				if !warned[key] {
					warned[key] = true
					res.Warnings = append(res.Warnings, w)
				}
			}
			continue
		}
		res.Rejected = append(res.Rejected, rows[i].errs...)
	}
	// Rows are in file order already; sort anyway so the contract does not
	// depend on how a format is read.
	slices.SortStableFunc(res.Rejected, func(a, b RowError) int { return a.Line - b.Line })
	return res
}

// check validates one row on its own into out.
func check(set settings, conv decimalConv, raw *rawRow, out *checked) {
	out.row.Line = raw.line
	out.errs = append(out.errs, raw.errs...)
	if raw.broken {
		return
	}
	var failed [numCols]bool
	for _, e := range raw.errs {
		if c, ok := colByName[e.Field]; ok {
			failed[c] = true
		}
	}
	fail := func(c colID, reason string) {
		if failed[c] {
			return // one error per column: the first is the one to fix
		}
		failed[c] = true
		out.errs = append(out.errs, RowError{Line: raw.line, Field: columns[c].Name, Value: shorten(raw.vals[c]), Reason: reason})
	}
	text := func(c colID, required bool) string {
		v := raw.vals[c]
		switch {
		case v == "" && required:
			fail(c, reasonRequired)
		case utf8.RuneCountInString(v) > maxFieldLen:
			fail(c, fmt.Sprintf("longer than %d characters", maxFieldLen))
			return ""
		case strings.ContainsFunc(v, isControl):
			fail(c, "contains control characters")
			return ""
		}
		return v
	}

	cust := &out.row.Customer
	inv := &out.row.Invoice
	inv.Number = text(colInvoiceNumber, true)
	cust.Ref = text(colCustomerRef, true)
	cust.Name = text(colCustomerName, true)
	cust.Phone = text(colPhone, false)
	cust.AddressLine1 = text(colAddress1, false)
	cust.AddressLine2 = text(colAddress2, false)
	cust.PostalCode = text(colPostalCode, false)
	cust.City = text(colCity, false)
	cust.LegalID = text(colLegalID, false)
	cust.ContactName = text(colContactName, false)
	cust.ContactPhone = text(colContactPhone, false)
	given := raw.present
	// Bad contact data never rejects the row: the invoice is still chased,
	// by the channels that remain, and the admin reads a warning.
	warn := func(c colID, reason string) {
		out.warns = append(out.warns, RowError{Line: raw.line, Field: columns[c].Name, Value: shorten(raw.vals[c]), Reason: reason})
	}
	if v := raw.vals[colEmail]; v != "" {
		switch reason := checkEmail(v); {
		case utf8.RuneCountInString(v) > maxFieldLen:
			warn(colEmail, fmt.Sprintf("longer than %d characters; the customer is chased without email (by letter when an address is known)", maxFieldLen))
			given &^= 1 << colEmail
		case reason != "":
			warn(colEmail, reason+"; the customer is chased without email (by letter when an address is known)")
			given &^= 1 << colEmail
		default:
			cust.Email = v
		}
	}
	for _, c := range [...]struct {
		col colID
		dst *string
	}{{colContactEmail, &cust.ContactEmail}, {colCCEmail, &cust.CCEmail}} {
		v := raw.vals[c.col]
		if v == "" {
			continue
		}
		switch reason := checkEmail(v); {
		case utf8.RuneCountInString(v) > maxFieldLen:
			warn(c.col, fmt.Sprintf("longer than %d characters; not used", maxFieldLen))
			given &^= 1 << c.col
		case reason != "":
			warn(c.col, reason+"; not used")
			given &^= 1 << c.col
		default:
			*c.dst = v
		}
	}
	cust.Country = set.country
	given &^= 1 << colCountry
	if v := raw.vals[colCountry]; v != "" {
		c, reason := parseCountry(v)
		if reason != "" {
			fail(colCountry, reason)
		}
		cust.Country = c
		given.add(colCountry)
	}
	cust.Language = set.language
	given &^= 1 << colLanguage
	if v := raw.vals[colLanguage]; v != "" {
		l, reason := parseLanguage(v)
		if reason != "" {
			fail(colLanguage, reason)
		}
		cust.Language = l
		given.add(colLanguage)
	}
	given &^= 1 << colCustomerType
	if v := raw.vals[colCustomerType]; v != "" {
		if t, ok := parseCustomerType(v); ok {
			cust.Type = t
			given.add(colCustomerType)
		} else {
			warn(colCustomerType, "not a customer type (business or consumer, B2B or B2C); the customer's type is left as it is")
		}
	}
	if cust.Phone != "" && !failed[colPhone] {
		if reason := checkMobile(cust.Phone, cust.Country); reason != "" {
			warn(colPhone, reason)
		}
	}
	out.row.Given = given
	out.custOK = countCustomerErrs(out.errs) == 0

	// Dates.
	var issueOK, dueOK bool
	for _, c := range [...]colID{colIssueDate, colDueDate} {
		v := raw.vals[c]
		if v == "" {
			fail(c, reasonRequired)
			continue
		}
		t, reason := parseDate(v, set.mdy)
		if reason != "" {
			fail(c, reason)
			continue
		}
		if c == colIssueDate {
			inv.IssueDate, issueOK = t, true
		} else {
			inv.DueDate, dueOK = t, true
		}
	}
	if issueOK && dueOK && inv.DueDate.Before(inv.IssueDate) {
		fail(colDueDate, "due date is before the issue date ("+inv.IssueDate.Format(time.DateOnly)+")")
	}

	// Currency, then amounts in its scale.
	cur, scale := set.currency, 0
	curOK := true
	if v := raw.vals[colCurrency]; v != "" {
		var reason string
		cur, scale, reason = parseCurrency(v)
		if reason != "" {
			fail(colCurrency, reason)
			curOK = false
		}
	} else if cur == "" {
		fail(colCurrency, "required (the import has no default currency)")
		curOK = false
	} else {
		_, scale, _ = parseCurrency(cur)
	}
	inv.Currency = cur
	// Without a currency an amount cannot be scaled: only the currency is
	// reported then.
	if curOK {
		amt, amtOK := amountOf(raw, colAmount, colAmountMinor, cur, scale, conv, true, fail)
		open, openOK := amountOf(raw, colOpenAmount, colOpenAmountMinor, cur, scale, conv, false, fail)
		switch {
		case !amtOK || !openOK:
		case open < 0: // absent: the whole amount is open
			inv.AmountMinor, inv.OpenMinor = amt, amt
		case open > amt:
			c, written := colOpenAmount, raw.vals[colAmount]
			if raw.vals[c] == "" {
				c = colOpenAmountMinor
			}
			if written == "" {
				written = raw.vals[colAmountMinor]
			}
			fail(c, "open amount is greater than the amount ("+shorten(written)+")")
		default:
			inv.AmountMinor, inv.OpenMinor = amt, open
		}
	}

	slices.SortStableFunc(out.errs, func(a, b RowError) int { return fieldOrder(a.Field) - fieldOrder(b.Field) })
}

// amountOf reads an amount given either written (col) or in minor units
// (minorCol). It returns -1 when neither is given and it is optional.
func amountOf(raw *rawRow, col, minorCol colID, cur string, scale int, conv decimalConv, required bool, fail func(colID, string)) (int64, bool) {
	v, mv := raw.vals[col], raw.vals[minorCol]
	switch {
	case v != "" && mv != "":
		fail(minorCol, reasonBothAmount)
		return 0, false
	case mv != "":
		n, reason := parseMinor(mv)
		if reason != "" {
			fail(minorCol, reason)
			return 0, false
		}
		return n, true
	case v == "":
		if required {
			fail(col, reasonRequired)
			return 0, false
		}
		return -1, true
	}
	var n int64
	var reason string
	if raw.num[col] {
		n, reason = parseJSONNumber(v, cur, scale)
	} else {
		n, reason = parseAmount(v, cur, scale, conv)
	}
	if reason != "" {
		fail(col, reason)
		return 0, false
	}
	return n, true
}

// customerCols are the columns that describe the customer, in the order
// conflicts are looked for.
var customerCols = [...]colID{colCustomerRef, colCustomerName, colEmail, colPhone, colAddress1, colAddress2, colPostalCode, colCity, colCountry, colLanguage, colLegalID,
	colCustomerType, colContactName, colContactEmail, colContactPhone, colCCEmail}

func countCustomerErrs(errs []RowError) int {
	n := 0
	for _, e := range errs {
		for _, c := range customerCols {
			if e.Field == columns[c].Name {
				n++
			}
		}
	}
	return n
}

// customerField returns a customer column's value as validated.
func customerField(c *CustomerRow, col colID) string {
	switch col {
	case colCustomerRef:
		return c.Ref
	case colCustomerName:
		return c.Name
	case colEmail:
		return c.Email
	case colPhone:
		return c.Phone
	case colAddress1:
		return c.AddressLine1
	case colAddress2:
		return c.AddressLine2
	case colPostalCode:
		return c.PostalCode
	case colCity:
		return c.City
	case colCountry:
		return c.Country
	case colLanguage:
		return c.Language
	case colLegalID:
		return c.LegalID
	case colCustomerType:
		return c.Type
	case colContactName:
		return c.ContactName
	case colContactEmail:
		return c.ContactEmail
	case colContactPhone:
		return c.ContactPhone
	case colCCEmail:
		return c.CCEmail
	}
	return ""
}

// checkDuplicates rejects every row whose invoice number occurs on another
// row too: the importer cannot know which of them is right.
func checkDuplicates(raws []rawRow, rows []checked) {
	byNumber := make(map[string][]int)
	for i := range rows {
		if n := rows[i].row.Invoice.Number; n != "" && !raws[i].broken {
			byNumber[n] = append(byNumber[n], i)
		}
	}
	for i := range rows {
		n := rows[i].row.Invoice.Number
		idx := byNumber[n]
		if n == "" || raws[i].broken || len(idx) < 2 {
			continue
		}
		lines := make([]string, 0, min(len(idx), maxDupLines))
		for _, j := range idx[:min(len(idx), maxDupLines)] {
			lines = append(lines, strconv.Itoa(rows[j].row.Line))
		}
		list := strings.Join(lines, ", ")
		if len(idx) > maxDupLines {
			list += fmt.Sprintf(" and %d more", len(idx)-maxDupLines)
		}
		rows[i].errs = append(rows[i].errs, RowError{
			Line: rows[i].row.Line, Field: columns[colInvoiceNumber].Name, Value: shorten(n),
			Reason: "duplicate invoice number in this file (lines " + list + ")",
		})
	}
}

// checkConflicts rejects rows whose customer data differs from the first
// row with the same customer reference. Rows with invalid customer data do
// not take part (they are rejected for that already).
func checkConflicts(raws []rawRow, rows []checked) {
	first := make(map[string]int)
	for i := range rows {
		if raws[i].broken || !rows[i].custOK {
			continue
		}
		ref := rows[i].row.Customer.Ref
		j, seen := first[ref]
		if !seen {
			first[ref] = i
			continue
		}
		a, b := &rows[j].row.Customer, &rows[i].row.Customer
		for _, c := range customerCols {
			va, vb := customerField(a, c), customerField(b, c)
			isEmail := c == colEmail || c == colContactEmail || c == colCCEmail
			if va == vb || (isEmail && strings.EqualFold(va, vb)) {
				continue
			}
			if isEmail && (!rows[j].row.Given.has(c) || !rows[i].row.Given.has(c)) {
				// An address that is not one (a warning) or none at all
				// does not contradict the customer's address elsewhere.
				continue
			}
			there := "empty there"
			if va != "" {
				there = strconv.Quote(shorten(va))
			}
			rows[i].errs = append(rows[i].errs, RowError{
				Line: rows[i].row.Line, Field: columns[c].Name, Value: shorten(vb),
				Reason: fmt.Sprintf("customer %q has different data on line %d (%s)", ref, rows[j].row.Line, there),
			})
			break
		}
	}
}

// fieldOrder orders errors within a row: by column, row-level errors last.
func fieldOrder(field string) int {
	for i, c := range columns {
		if c.Name == field {
			return i
		}
	}
	return int(numCols)
}

// checkEmail accepts one bare address with a dotted domain: what a mail
// will actually be sent to. "Name <a@b.c>" and lists are refused, so the
// admin sees what is wrong instead of a half-right address being kept.
func checkEmail(v string) string {
	addr, err := mail.ParseAddress(v)
	if err != nil {
		if list, lerr := mail.ParseAddressList(strings.ReplaceAll(v, ";", ",")); lerr == nil && len(list) > 1 {
			return "must be a single bare address (no name, no list)"
		}
		return "not a valid email address"
	}
	if addr.Name != "" || addr.Address != v {
		return "must be a single bare address (no name, no list)"
	}
	at := strings.LastIndexByte(v, '@')
	if at < 0 || !strings.Contains(v[at+1:], ".") {
		return "not a valid email address"
	}
	return ""
}

// parseCountry validates an ISO 3166-1 alpha-2 code and returns it
// canonical and upper-cased ("be" → "BE", "UK" → "GB").
func parseCountry(v string) (string, string) {
	if c, ok := countryNames[normalizeName(v)]; ok {
		return c, ""
	}
	if len(v) != 2 || !isASCIILetter(rune(v[0])) || !isASCIILetter(rune(v[1])) {
		return "", "must be a 2-letter ISO country code"
	}
	r, err := language.ParseRegion(v)
	if err != nil || !r.IsCountry() {
		return "", "unknown country code"
	}
	return r.Canonicalize().String(), ""
}

// languages are the languages templates ship in (docs/domain.md §1.9).
var languages = []string{"nl", "fr", "en", "de"}

// parseLanguage accepts nl, fr, en or de, with an optional region
// ("nl-BE", "FR_be"), and returns the bare lower-case code.
func parseLanguage(v string) (string, string) {
	if l, ok := languageNames[normalizeName(v)]; ok {
		return l, ""
	}
	base := strings.ToLower(v)
	if i := strings.IndexAny(base, "-_"); i >= 0 {
		base = base[:i]
	}
	if !slices.Contains(languages, base) {
		return "", "must be nl, fr, en or de"
	}
	return base, ""
}

// isControl reports characters no text field may hold (a CSV file with
// them is refused as binary; JSON strings can still carry them escaped).
func isControl(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f
}

// shorten cuts a value quoted in an error to maxValueLen characters.
func shorten(v string) string {
	if utf8.RuneCountInString(v) <= maxValueLen {
		return v
	}
	r := []rune(v)
	return string(r[:maxValueLen-1]) + "…"
}

// countryNames are the country names exports write instead of a code, in
// the languages of the packages Relance reads (accents dropped, as
// normalizeName writes them).
var countryNames = map[string]string{
	"nederland": "NL", "netherlands": "NL", "the_netherlands": "NL", "pays_bas": "NL", "niederlande": "NL", "holland": "NL",
	"belgie": "BE", "belgique": "BE", "belgien": "BE", "belgium": "BE",
	"luxemburg": "LU", "luxembourg": "LU",
	"frankrijk": "FR", "france": "FR", "frankreich": "FR",
	"duitsland": "DE", "allemagne": "DE", "deutschland": "DE", "germany": "DE",
	"oostenrijk": "AT", "autriche": "AT", "osterreich": "AT", "austria": "AT",
	"zwitserland": "CH", "suisse": "CH", "schweiz": "CH", "switzerland": "CH",
	"spanje": "ES", "espagne": "ES", "spanien": "ES", "spain": "ES", "espana": "ES",
	"italie": "IT", "italien": "IT", "italy": "IT", "italia": "IT",
	"verenigd_koninkrijk": "GB", "royaume_uni": "GB", "vereinigtes_konigreich": "GB", "united_kingdom": "GB",
	"denemarken": "DK", "danemark": "DK", "denmark": "DK", "danmark": "DK",
	"polen": "PL", "pologne": "PL", "poland": "PL",
}

// languageNames are language names exports write instead of a code.
var languageNames = map[string]string{
	"nederlands": "nl", "dutch": "nl", "neerlandais": "nl", "niederlandisch": "nl", "vlaams": "nl",
	"frans": "fr", "francais": "fr", "french": "fr", "franzosisch": "fr",
	"engels": "en", "anglais": "en", "english": "en", "englisch": "en",
	"duits": "de", "allemand": "de", "german": "de", "deutsch": "de",
}

// checkMobile says why a phone number cannot receive SMS in the customer's
// country, or "" when it can. The number is still stored as the phone.
func checkMobile(phone, country string) string {
	_, err := policy.NormalizeMobile(phone, country)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, policy.ErrNotMobile):
		return "not a mobile number (" + err.Error() + "); no SMS will be sent to this customer"
	}
	where := country
	if where == "" {
		where = "any country (no country given)"
	}
	return fmt.Sprintf("not a valid phone number in %s; no SMS will be sent to this customer", where)
}

// customerTypes are the words exports use for a business or a consumer
// customer, normalized (lower case, accents dropped, see normalizeName).
var customerTypes = map[string]string{
	"business": "business", "b2b": "business", "b": "business", "company": "business", "corporate": "business", "commercial": "business",
	"zakelijk": "business", "bedrijf": "business", "onderneming": "business", "zakelijke_klant": "business",
	"professionnel": "business", "pro": "business", "professionel": "business", "entreprise": "business", "societe": "business",
	"unternehmen": "business", "firma": "business", "gewerblich": "business", "geschaftskunde": "business", "firmenkunde": "business",
	"consumer": "consumer", "b2c": "consumer", "c": "consumer", "private": "consumer", "individual": "consumer", "person": "consumer",
	"particulier": "consumer", "consument": "consumer", "prive": "consumer", "particuliere_klant": "consumer",
	"particuliers": "consumer", "personne_physique": "consumer",
	"verbraucher": "consumer", "privatkunde": "consumer", "privat": "consumer", "privatperson": "consumer",
}

// parseCustomerType reads a customer type cell: business or consumer.
func parseCustomerType(v string) (string, bool) {
	t, ok := customerTypes[normalizeName(v)]
	return t, ok
}
