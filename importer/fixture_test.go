package importer

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the generated files under testdata")

// The Dutch export fixture: what a Belgian or Dutch accounting package
// writes (BOM, ";", CRLF, Dutch headers, decimal commas, mixed date
// formats, quoted names and multi-line addresses), 400 invoices of which 34
// are broken in every way the importer must catch.
const dutchFixture = "testdata/export_nl.csv"

type genCustomer struct {
	ref, name, address, postcode, city, country, language, email, phone, vat string
}

// fixture column positions, in the header's order.
const (
	fNumber = iota
	fRef
	fName
	fAddress
	fPostcode
	fCity
	fCountry
	fLanguage
	fEmail
	fPhone
	fVAT
	fIssue
	fDue
	fCurrency
	fAmount
	fOpen
	fCount
)

const dutchHeader = "Factuurnummer;Debiteurnummer;Naam;Adres;Postcode;Plaats;Land;Taal;E-mail;Telefoon;BTW-nummer;Factuurdatum;Vervaldatum;Valuta;Bedrag;Openstaand"

// rng is a tiny deterministic generator, so the fixture never changes.
type rng uint32

func (r *rng) next(n int) int {
	*r = *r*1664525 + 1013904223
	return int(uint32(*r>>8) % uint32(n))
}

func genCustomers(n int) []genCustomer {
	prefixes := []string{"Bakkerij", "Garage", "Brouwerij", "Drukkerij", "Schrijnwerkerij", "Apotheek", "Transport", "Boekhandel", "Bouwbedrijf", "Café"}
	names := []string{"Janssens", "Peeters", "Maes", "Jacobs", "Mertens", "Willems", "De Smet", "Dubois", "Lambert", "Van den Berg", "Léon", "Vermeulen"}
	suffixes := []string{"BV", "NV", "bvba", "VOF", "SRL", ""}
	streets := []string{"Kerkstraat", "Stationsstraat", "Dorpsstraat", "Rue de la Gare", "Molenweg", "Markt"}
	citiesBE := [][2]string{{"9000", "Gent"}, {"2000", "Antwerpen"}, {"1000", "Brussel"}, {"3000", "Leuven"}, {"4000", "Liège"}}
	citiesNL := [][2]string{{"1012 AB", "Amsterdam"}, {"3011 BD", "Rotterdam"}, {"3511 LN", "Utrecht"}}
	r := rng(42)
	out := make([]genCustomer, n)
	for i := range out {
		name := strings.TrimSpace(fmt.Sprintf("%s %s %s", prefixes[r.next(len(prefixes))], names[r.next(len(names))], suffixes[r.next(len(suffixes))]))
		c := genCustomer{
			ref:      fmt.Sprintf("D%d", 1001+i),
			name:     name,
			address:  fmt.Sprintf("%s %d", streets[r.next(len(streets))], 1+r.next(200)),
			language: []string{"nl", "fr", "NL", "nl-BE"}[r.next(4)],
			phone:    fmt.Sprintf("+32 47%d %02d %02d %02d", r.next(10), r.next(100), r.next(100), r.next(100)),
			vat:      fmt.Sprintf("BE0%09d", r.next(1000000000)),
		}
		if i%4 == 3 {
			pc := citiesNL[r.next(len(citiesNL))]
			c.postcode, c.city, c.country = pc[0], pc[1], "NL"
			c.phone = fmt.Sprintf("06-%08d", r.next(100000000))
			c.vat = fmt.Sprintf("%08d", r.next(100000000)) // KvK number
		} else {
			pc := citiesBE[r.next(len(citiesBE))]
			c.postcode, c.city, c.country = pc[0], pc[1], []string{"BE", "be"}[r.next(2)]
		}
		if r.next(5) > 0 {
			c.email = "boekhouding@" + strings.ToLower(strings.ReplaceAll(names[i%len(names)], " ", "")) + strconv.Itoa(i) + ".be"
		}
		out[i] = c
	}
	// Hand-made customers that exercise quoting and odd values.
	out[2].name = `Bakkerij "De Zon" BV`
	out[5].address = "Kerkstraat 1\r\nBus 3" // a multi-line address, quoted
	out[7].name = "Van Dam; Zonen & Co"
	out[11].postcode, out[11].city, out[11].country = `="01000"`, "Bourg-en-Bresse", "FR" // Excel keeps the leading zero
	out[13].country = ""                                                                  // the administration's country
	return out
}

// formatNL writes minor units (cents) as Dutch-speaking exports do, in a
// few styles that all carry a decimal comma.
func formatNL(minor int64, style int) string {
	units, cents := minor/100, minor%100
	grouped := func(sep string) string {
		s := strconv.FormatInt(units, 10)
		for i := len(s) - 3; i > 0; i -= 3 {
			s = s[:i] + sep + s[i:]
		}
		return s
	}
	switch style % 5 {
	case 0:
		return fmt.Sprintf("%s,%02d", grouped("."), cents)
	case 1:
		return fmt.Sprintf("%d,%02d", units, cents)
	case 2:
		return fmt.Sprintf("€ %s,%02d", grouped("."), cents)
	case 3:
		return fmt.Sprintf("%s,%02d", grouped("\u202f"), cents)
	default:
		if cents%10 == 0 {
			return fmt.Sprintf("%d,%d", units, cents/10)
		}
		return fmt.Sprintf("%d,%02d", units, cents)
	}
}

func formatDate(t time.Time, style int) string {
	layouts := []string{"02-01-2006", "02/01/2006", "2006-01-02", "02.01.2006", "2/1/2006", "20060102"}
	return t.Format(layouts[style%len(layouts)])
}

// genRow builds the valid row i of a generated export.
func genRow(i int, customers []genCustomer, r *rng) []string {
	c := customers[(i*7)%len(customers)]
	issue := time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, (i*3)%150)
	due := issue.AddDate(0, 0, []int{14, 30, 30, 60}[i%4])
	amount := int64(1000 + r.next(500000))
	open := ""
	switch i % 4 {
	case 1:
		open = formatNL(amount, i+1)
	case 2:
		open = formatNL(amount/3, i+2)
	case 3:
		open = "0,00"
	}
	currency := "EUR"
	if i%9 == 4 {
		currency = "" // the administration's currency
	}
	f := make([]string, fCount)
	f[fNumber] = fmt.Sprintf("F2026-%04d", i+1)
	f[fRef], f[fName], f[fAddress], f[fPostcode], f[fCity] = c.ref, c.name, c.address, c.postcode, c.city
	f[fCountry], f[fLanguage], f[fEmail], f[fPhone], f[fVAT] = c.country, c.language, c.email, c.phone, c.vat
	f[fIssue], f[fDue] = formatDate(issue, i), formatDate(due, i/6)
	f[fCurrency], f[fAmount], f[fOpen] = currency, formatNL(amount, i), open
	return f
}

// csvLine encodes fields the way exports do: quoted only when needed.
func csvLine(fields []string, sep string) string {
	out := make([]string, len(fields))
	for i, f := range fields {
		if strings.ContainsAny(f, sep+"\"\r\n") && !strings.HasPrefix(f, `="`) {
			f = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
		}
		out[i] = f
	}
	return strings.Join(out, sep)
}

// dutchExport generates the fixture.
func dutchExport() []byte {
	customers := genCustomers(60)
	r := rng(7)
	rows := make([][]string, 400)
	for i := range rows {
		rows[i] = genRow(i, customers, &r)
	}
	set := func(i, field int, v string) { rows[i][field] = v }

	// Valid rows that need the file's context or odd notations.
	set(5, fCurrency, "JPY")
	set(5, fAmount, "150.000") // thousands: the file uses decimal commas
	set(5, fOpen, "")
	set(15, fCurrency, "KWD")
	set(15, fAmount, "12,345") // three decimals are KWD's scale
	set(15, fOpen, "")
	set(25, fAmount, "1.500") // 1500 euro, like set(5)
	set(25, fOpen, "")
	set(45, fAmount, "12,5000") // exactly 12.50
	set(45, fOpen, "")
	set(75, fIssue, "2025-10-15T10:30:00")

	// Broken rows, one or two problems each.
	set(10, fNumber, "")
	set(20, fRef, "")
	set(30, fName, "")
	set(40, fAmount, "twaalf")
	set(50, fAmount, "-12,50")
	set(60, fAmount, "(1.250,00)")
	set(70, fAmount, "12,345")
	set(80, fAmount, "100,00")
	set(80, fOpen, "150,00")
	set(90, fOpen, "-5,00")
	set(100, fCurrency, "XYZ")
	set(110, fIssue, "31/02/2026")
	set(120, fDue, "volgende week")
	set(130, fIssue, "2026-03-01")
	set(130, fDue, "2026-02-01")
	set(140, fEmail, "jan@@example")
	set(150, fEmail, "jan@example.be; piet@example.be")
	set(160, fLanguage, "es")
	set(170, fCountry, "BEL")
	set(180, fName, strings.Repeat("Zeer lange naam ", 17))
	rows[190] = rows[190][:fCount-2]
	rows[200] = append(rows[200], "extra")
	set(210, fNumber, "F2026-DUP1")
	set(260, fNumber, "F2026-DUP1")
	set(220, fName, "Jansen Transport BV") // customer of row 40 with another name
	set(230, fEmail, "andere@example.be")  // customer of row 50 with another email
	set(240, fAmount, "99999999999999999999")
	set(250, fCurrency, "JPY")
	set(250, fAmount, "1.500,5")
	set(250, fOpen, "")
	set(270, fIssue, "15-13-2026")
	set(280, fIssue, "15-01-26")
	set(305, fNumber, "F2026-DUP2")
	set(306, fNumber, "F2026-DUP2")
	set(350, fNumber, "F2026-DUP2")
	set(310, fName, "")
	set(310, fDue, "31/04/2026")
	set(320, fAmount, "USD 120,00")
	set(330, fAmount, "")
	set(340, fDue, "")
	set(360, fCountry, "XX")
	set(370, fAmount, "1.234.56")

	var b bytes.Buffer
	b.WriteString("\ufeff" + dutchHeader + "\r\n")
	for i, f := range rows {
		line := csvLine(f, ";")
		if i == 290 { // broken quoting
			line = `"F2026-0291"x;` + strings.SplitN(line, ";", 2)[1]
		}
		b.WriteString(line + "\r\n")
		switch i {
		case 99:
			b.WriteString("\r\n")
		case 199:
			b.WriteString(strings.Repeat(";", fCount-1) + "\r\n")
		}
	}
	return b.Bytes()
}

// TestDutchExportFixtureIsGenerated keeps the committed fixture equal to
// its generator (go test -run Fixture -update rewrites it).
func TestDutchExportFixtureIsGenerated(t *testing.T) {
	want := dutchExport()
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(dutchFixture), 0o755))
		require.NoError(t, os.WriteFile(dutchFixture, want, 0o644))
	}
	got, err := os.ReadFile(dutchFixture)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "run go test ./importer -run Fixture -update")
}

func TestDutchExport(t *testing.T) {
	f, err := os.Open(dutchFixture)
	require.NoError(t, err)
	defer f.Close()
	res, err := ParseCSV(f, Options{DefaultCurrency: "EUR", DefaultCountry: "BE", DefaultLanguage: "nl"})
	require.NoError(t, err)

	type rej struct {
		Line          int
		Field, Reason string
	}
	var got []rej
	for _, e := range res.Rejected {
		got = append(got, rej{e.Line, e.Field, e.Reason})
	}
	// Row i of the generator (customer i*7 mod 60) is on line i+2, plus one
	// for each two-line address before it (customer 5: rows 35, 95, 155,
	// 215, 275, 335), plus the blank lines after rows 99 and 199. Row 40 is
	// the first row of customer D1041: rejected for its amount, its customer
	// data still is the reference.
	want := []rej{
		{12, "invoice_number", "required"},
		{22, "customer_ref", "required"},
		{32, "customer_name", "required"},
		{43, "amount", "not a number"},
		{53, "amount", reasonNegative},
		{63, "amount", reasonNegative},
		{73, "amount", "more than 2 decimals (EUR has 2)"},
		{83, "open_amount", "open amount is greater than the amount (100,00)"},
		{93, "open_amount", reasonNegative},
		{105, "currency", "unknown currency XYZ"},
		{115, "issue_date", "invalid date: February 2026 has no day 31"},
		{125, "due_date", "unrecognised date (write 2026-01-31 or 31-01-2026)"},
		{135, "due_date", "due date is before the issue date (2026-03-01)"},
		{166, "language", "must be nl, fr, en or de"},
		{176, "country", "must be a 2-letter ISO country code"},
		{186, "customer_name", "longer than 255 characters"},
		{196, "", "expected 16 fields, found 14 (check separators and quotes)"},
		{207, "", "expected 16 fields, found 17 (check separators and quotes)"},
		{217, "invoice_number", "duplicate invoice number in this file (lines 217, 268)"},
		{228, "customer_name", `customer "D1041" has different data on line 43 ("Apotheek Dubois VOF")`},
		{238, "email", `customer "D1051" has different data on line 53 ("boekhouding@maes50.be")`},
		{248, "amount", "amount too large"},
		{258, "amount", "JPY amounts have no decimals"},
		{268, "invoice_number", "duplicate invoice number in this file (lines 217, 268)"},
		{278, "issue_date", "invalid date: there is no month 13 (dates are read day-month-year)"},
		{289, "issue_date", "year must have 4 digits"},
		{299, "invoice_number", "text after a closing quote (quote the whole field and double the quotes inside it)"},
		{314, "invoice_number", "duplicate invoice number in this file (lines 314, 315, 360)"},
		{315, "invoice_number", "duplicate invoice number in this file (lines 314, 315, 360)"},
		{319, "customer_name", "required"},
		{319, "due_date", "invalid date: April 2026 has no day 31"},
		{329, "amount", "amount is in USD but the row's currency is EUR"},
		{339, "amount", "required"},
		{350, "due_date", "required"},
		{360, "invoice_number", "duplicate invoice number in this file (lines 314, 315, 360)"},
		{370, "country", "unknown country code"},
		{380, "amount", "invalid digit grouping"},
	}
	require.Equal(t, want, got)
	require.Equal(t, 400, res.Total)
	rejectedLines := map[int]bool{}
	for _, e := range res.Rejected {
		rejectedLines[e.Line] = true
	}
	require.Len(t, rejectedLines, 36)
	require.Len(t, res.Rows, 400-36)
	// Bad addresses are warnings, never rejections (the invoice is chased
	// by letter); 0470 12 34 56 has no country code and is read in BE.
	var warned []rej
	for _, w := range res.Warnings {
		warned = append(warned, rej{w.Line, w.Field, w.Reason})
	}
	require.Subset(t, warned, []rej{
		{145, "email", "not a valid email address; the customer is chased without email (by letter when an address is known)"},
		{155, "email", "must be a single bare address (no name, no list); the customer is chased without email (by letter when an address is known)"},
	})

	byNumber := map[string]Row{}
	for _, r := range res.Rows {
		byNumber[r.Invoice.Number] = r
	}
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

	// The first row, every field.
	first := res.Rows[0]
	require.Equal(t, 2, first.Line)
	require.Equal(t, "F2026-0001", first.Invoice.Number)
	require.Equal(t, day(2025, 10, 1), first.Invoice.IssueDate)
	require.Equal(t, day(2025, 10, 15), first.Invoice.DueDate)
	require.Equal(t, "EUR", first.Invoice.Currency)
	require.Equal(t, first.Invoice.AmountMinor, first.Invoice.OpenMinor, "no open amount: all of it is open")
	require.Equal(t, "D1001", first.Customer.Ref)
	require.Equal(t, "BE", first.Customer.Country)

	// Amounts that need the currency or the file's convention.
	require.Equal(t, InvoiceRow{Number: "F2026-0006", IssueDate: day(2025, 10, 16), DueDate: day(2025, 11, 15), Currency: "JPY", AmountMinor: 150000, OpenMinor: 150000}, byNumber["F2026-0006"].Invoice)
	require.Equal(t, "KWD", byNumber["F2026-0016"].Invoice.Currency)
	require.Equal(t, int64(12345), byNumber["F2026-0016"].Invoice.AmountMinor)
	require.Equal(t, int64(150000), byNumber["F2026-0026"].Invoice.AmountMinor)
	require.Equal(t, int64(1250), byNumber["F2026-0046"].Invoice.AmountMinor)
	require.Equal(t, day(2025, 10, 15), byNumber["F2026-0076"].Invoice.IssueDate)
	require.Equal(t, "EUR", byNumber["F2026-0005"].Invoice.Currency, "empty currency: the default")
	require.Zero(t, byNumber["F2026-0004"].Invoice.OpenMinor, "paid")
	require.Equal(t, byNumber["F2026-0003"].Invoice.AmountMinor/3, byNumber["F2026-0003"].Invoice.OpenMinor)

	// Customers: quoting, multi-line addresses, normalisation, defaults.
	require.Equal(t, `Bakkerij "De Zon" BV`, byNumber["F2026-0027"].Customer.Name)
	multi := byNumber["F2026-0036"]
	require.Equal(t, 37, multi.Line)
	require.Equal(t, "Kerkstraat 1\nBus 3", multi.Customer.AddressLine1)
	require.Equal(t, 39, byNumber["F2026-0037"].Line, "the line after a two-line row")
	require.Equal(t, "Van Dam; Zonen & Co", byNumber["F2026-0002"].Customer.Name)
	french := byNumber["F2026-0054"].Customer
	require.Equal(t, "D1012", french.Ref)
	require.Equal(t, "01000", french.PostalCode, `Excel's ="01000"`)
	require.Equal(t, "Bourg-en-Bresse", french.City)
	require.Equal(t, "FR", french.Country)
	require.Equal(t, "D1014", byNumber["F2026-0020"].Customer.Ref)
	require.Equal(t, "BE", byNumber["F2026-0020"].Customer.Country, "no country: the default")
	require.Equal(t, "Café Lambert NV", first.Customer.Name)
	require.Equal(t, "Liège", first.Customer.City)
	for _, r := range res.Rows {
		require.Contains(t, []string{"nl", "fr"}, r.Customer.Language)
		require.Contains(t, []string{"BE", "NL", "FR"}, r.Customer.Country)
	}
}
