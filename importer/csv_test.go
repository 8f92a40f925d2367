package importer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/stretchr/testify/require"
)

var optsEUR = Options{DefaultCurrency: "EUR", DefaultCountry: "BE", DefaultLanguage: "nl"}

func parseCSV(t *testing.T, in string, opt Options) Result {
	t.Helper()
	res, err := ParseCSV(strings.NewReader(in), opt)
	require.NoError(t, err)
	return res
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// given builds the FieldSet of the named fields.
func given(fields ...string) FieldSet {
	var s FieldSet
	for _, f := range fields {
		c, ok := fieldByName(f)
		if !ok {
			panic("unknown field " + f)
		}
		s.add(c)
	}
	return s
}

// rejections flattens Rejected to "line field: reason" for compact asserts.
func rejections(res Result) []string {
	var out []string
	for _, e := range res.Rejected {
		out = append(out, strings.TrimSpace(strings.Join([]string{itoa(e.Line), e.Field}, " "))+": "+e.Reason)
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestEnglishCommaFile(t *testing.T) {
	in := "Invoice Number,Customer ID,Name,Invoice Date,Due Date,Total,Outstanding,Currency,Email,Country,Language\n" +
		`INV-1,C1,"Acme, Inc.",01/15/2026,02/14/2026,"1,234.56",234.56,USD,ap@acme.com,us,en` + "\n" +
		`INV-2,C1,"Acme, Inc.",01/16/2026,02/15/2026,"1,234",,USD,ap@acme.com,us,en` + "\n" +
		`INV-3,C2,Widgets Ltd,2026-01-20,2026-02-19,99.9,0,GBP,,GB,en` + "\n" +
		`INV-4,C2,Widgets Ltd,01/31/2026,01/30/2026,10.00,,GBP,,GB,en` + "\n"
	res := parseCSV(t, in, Options{DefaultCurrency: "USD", DateOrder: "MDY"})
	require.Equal(t, 4, res.Total)
	all := given("invoice_number", "customer_ref", "customer_name", "issue_date", "due_date", "amount", "open_amount", "currency", "email", "country", "language")
	require.Equal(t, []string{"5 due_date: due date is before the issue date (2026-01-31)"}, rejections(res))
	require.Equal(t, []Row{
		{Line: 2, Customer: CustomerRow{Ref: "C1", Name: "Acme, Inc.", Email: "ap@acme.com", Country: "US", Language: "en"},
			Invoice: InvoiceRow{Number: "INV-1", IssueDate: day(2026, 1, 15), DueDate: day(2026, 2, 14), Currency: "USD", AmountMinor: 123456, OpenMinor: 23456}, Given: all},
		{Line: 3, Customer: CustomerRow{Ref: "C1", Name: "Acme, Inc.", Email: "ap@acme.com", Country: "US", Language: "en"},
			Invoice: InvoiceRow{Number: "INV-2", IssueDate: day(2026, 1, 16), DueDate: day(2026, 2, 15), Currency: "USD", AmountMinor: 123400, OpenMinor: 123400}, Given: all},
		{Line: 4, Customer: CustomerRow{Ref: "C2", Name: "Widgets Ltd", Country: "GB", Language: "en"},
			Invoice: InvoiceRow{Number: "INV-3", IssueDate: day(2026, 1, 20), DueDate: day(2026, 2, 19), Currency: "GBP", AmountMinor: 9990, OpenMinor: 0}, Given: all},
	}, res.Rows)
}

func TestWindows1252File(t *testing.T) {
	// "Café Léon" and "€ 12,50" as a Windows accounting package writes them.
	in := []byte("factuurnummer;klantnummer;naam;plaats;factuurdatum;vervaldatum;bedrag\r\n" +
		"F1;K1;Caf\xe9 L\xe9on;Li\xe8ge;01-02-2026;01-03-2026;\x80 12,50\r\n")
	res, err := ParseCSV(bytes.NewReader(in), optsEUR)
	require.NoError(t, err)
	require.Empty(t, res.Rejected)
	require.Len(t, res.Rows, 1)
	require.Equal(t, "Café Léon", res.Rows[0].Customer.Name)
	require.Equal(t, "Liège", res.Rows[0].Customer.City)
	require.Equal(t, int64(1250), res.Rows[0].Invoice.AmountMinor)
}

func TestUTF16TabFile(t *testing.T) {
	// Excel's "Unicode text": UTF-16LE with a BOM, tab-separated.
	text := "invoice_number\tcustomer_ref\tcustomer_name\tissue_date\tdue_date\tamount\r\nF1\tK1\tŽofia Łukasz\t2026-02-01\t2026-03-01\t1.234,50\r\n"
	var b bytes.Buffer
	b.Write([]byte{0xff, 0xfe})
	for _, u := range utf16.Encode([]rune(text)) {
		require.NoError(t, binary.Write(&b, binary.LittleEndian, u))
	}
	res, err := ParseCSV(&b, optsEUR)
	require.NoError(t, err)
	require.Empty(t, res.Rejected)
	require.Equal(t, "Žofia Łukasz", res.Rows[0].Customer.Name)
	require.Equal(t, int64(123450), res.Rows[0].Invoice.AmountMinor)
}

const minimalHeader = "invoice_number;customer_ref;customer_name;issue_date;due_date;amount"

func TestHeaderErrors(t *testing.T) {
	tests := []struct {
		name, header string
		want         []string
	}{
		{"missing required", "factuurnummer;klantnummer;naam;factuurdatum;bedrag",
			[]string{`(line 1)`, `missing required column "due_date" (or vervaldatum, vervaldag, vervaldatum_factuur, uiterste_betaaldatum, echeance, ...; or save a column mapping)`}},
		{"given twice", minimalHeader + ";Bedrag",
			[]string{`columns "amount" and "Bedrag" both read as "amount" (save a column mapping to say which one to use)`}},
		{"both amount forms", minimalHeader + ";amount_minor",
			[]string{reasonBothAmount}},
		{"one column", "just some text",
			[]string{`missing required column "invoice_number"`}},
		{"header after blank lines", "\n\n" + "factuurnummer;naam",
			[]string{`(line 3)`, `missing required column "customer_ref"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCSV(strings.NewReader(tt.header+"\nF1;K1;N;2026-01-01;2026-01-01;1\n"), optsEUR)
			require.ErrorIs(t, err, ErrHeader)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

// TestUnknownColumnsIgnored: exports carry columns Relance does not use;
// they are listed, with a hint when they look like a typo, never fatal.
func TestUnknownColumnsIgnored(t *testing.T) {
	in := "invoice_number;Kostenplaats;;customer_ref;customer_name;issue_date;due_date;amount;Bedragg;Opmerking\n" +
		"F1;KP1;x;K1;N;2026-01-01;2026-01-31;1,50;9;hello\n"
	res := parseCSV(t, in, optsEUR)
	require.Empty(t, res.Rejected)
	require.Len(t, res.Rows, 1)
	require.Equal(t, int64(150), res.Rows[0].Invoice.AmountMinor)
	require.Equal(t, []IgnoredColumn{{Column: "Kostenplaats"}, {Column: "Bedragg", DidYouMean: "amount"}, {Column: "Opmerking"}}, res.Ignored)
	require.Equal(t, []ColumnUse{
		{Field: "invoice_number", Column: "invoice_number", By: ByName}, {Field: "customer_ref", Column: "customer_ref", By: ByName},
		{Field: "customer_name", Column: "customer_name", By: ByName}, {Field: "issue_date", Column: "issue_date", By: ByName},
		{Field: "due_date", Column: "due_date", By: ByName}, {Field: "amount", Column: "amount", By: ByName},
	}, res.Columns)
	require.True(t, res.Rows[0].Given.Has("amount"))
	require.False(t, res.Rows[0].Given.Has("language"), "no language column: not given, even though the default fills it")
	require.False(t, res.Rows[0].Given.Has("email"))
}

func TestHeaderNamesAreNormalized(t *testing.T) {
	in := " N° Facture ;Code client;Raison sociale;Date de facture;Date d'échéance;Montant TTC;Reste à payer;E-MAIL;Numéro TVA\n" +
		"F1;C1;Boulangerie Dupont;02/01/2026;01/02/2026;1 234,56;34,56;compta@dupont.fr;FR123\n"
	res := parseCSV(t, in, Options{DefaultCurrency: "EUR", DefaultLanguage: "fr"})
	require.Empty(t, res.Rejected)
	require.Equal(t, CustomerRow{Ref: "C1", Name: "Boulangerie Dupont", Email: "compta@dupont.fr", Language: "fr", LegalID: "FR123"}, res.Rows[0].Customer)
	require.Equal(t, InvoiceRow{Number: "F1", IssueDate: day(2026, 1, 2), DueDate: day(2026, 2, 1), Currency: "EUR", AmountMinor: 123456, OpenMinor: 3456}, res.Rows[0].Invoice)
}

func TestNotCSV(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"png", png, "the file is a PNG image"},
		{"xlsx", []byte("PK\x03\x04\x14\x00\x06\x00"), "Excel .xlsx"},
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), "a PDF document"},
		{"nul bytes", []byte("invoice_number;amount\nF1\x00;1\n"), "binary data (byte 0x00 on line 2)"},
		{"control bytes", []byte("a;b\n\x01\x02\x03\n"), "binary data (byte 0x01 on line 2)"},
		{"json object", []byte(` {"rows": []}`), "looks like JSON"},
		{"json array", []byte("\ufeff[{\"invoice_number\": \"F1\"}]"), "looks like JSON"},
		{"mixed encodings", []byte("naam\nCafé\nCaf\xe9\n"), "invalid UTF-8 on line 3"},
		{"not windows-1252", []byte("naam\nx\x81y\n"), "neither UTF-8 nor Windows-1252 (byte 0x81 on line 2)"},
		{"unterminated quote", []byte(minimalHeader + "\nF1;K1;\"Jansen;2026-01-01;2026-01-01;1\nF2;K2;N;2026-01-01;2026-01-01;1\n"), "line 2: a quoted field is never closed"},
		{"bad utf-16", []byte("\xff\xfe\x00\xd8"), "invalid UTF-16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ParseCSV(bytes.NewReader(tt.in), optsEUR)
			require.ErrorIs(t, err, ErrNotCSV)
			require.Contains(t, err.Error(), tt.want)
			require.Empty(t, res.Rows)
		})
	}
}

func TestEmpty(t *testing.T) {
	for name, in := range map[string]string{
		"empty":                "",
		"bom only":             "\ufeff",
		"whitespace":           " \r\n\t\n",
		"ctrl-z":               "\x1a",
		"header only":          minimalHeader,
		"header and newline":   minimalHeader + "\r\n",
		"header, blank rows":   minimalHeader + "\n\n;;;;;\n  \n",
		"sep line and header":  "sep=;\n" + minimalHeader + "\n",
		"header with trailing": minimalHeader + ";\n;;;;;;\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseCSV(strings.NewReader(in), optsEUR)
			require.ErrorIs(t, err, ErrEmpty)
		})
	}
}

func TestQuotedFields(t *testing.T) {
	in := minimalHeader + ";address_line1;email\r\n" +
		`F1;K1;"Jansen; Zonen";2026-01-01;2026-01-31;"1.234,56";"Kerkstraat 1` + "\r\n" + `Bus 2";` + "\r\n" +
		`"F2";K2;"Bakkerij ""De Zon""" ;2026-01-01;2026-01-31;12,50;"";"a@b.be"` + "\r\n" +
		`F3;K3;Multi"Quote;2026-01-01;2026-01-31;1;"line1` + "\n\n" + `line3";` + "\r\n" +
		`"F4"x;K4;N;2026-01-01;2026-01-31;1;;` + "\r\n" +
		`F5;K5;"Name";2026-01-01;2026-01-31;1;;` + "\r\n"
	res := parseCSV(t, in, optsEUR)
	require.Equal(t, 5, res.Total)
	require.Equal(t, []string{"8 invoice_number: text after a closing quote (quote the whole field and double the quotes inside it)"}, rejections(res))
	require.Equal(t, "F4", res.Rejected[0].Value)
	require.Len(t, res.Rows, 4)
	require.Equal(t, 2, res.Rows[0].Line)
	require.Equal(t, "Jansen; Zonen", res.Rows[0].Customer.Name)
	require.Equal(t, "Kerkstraat 1\nBus 2", res.Rows[0].Customer.AddressLine1)
	require.Equal(t, 4, res.Rows[1].Line)
	require.Equal(t, `Bakkerij "De Zon"`, res.Rows[1].Customer.Name)
	require.Equal(t, "a@b.be", res.Rows[1].Customer.Email)
	require.Equal(t, 5, res.Rows[2].Line)
	require.Equal(t, `Multi"Quote`, res.Rows[2].Customer.Name, "a quote inside an unquoted field is a character")
	require.Equal(t, "line1\n\nline3", res.Rows[2].Customer.AddressLine1)
	require.Equal(t, 9, res.Rows[3].Line)
}

func TestLineEndingsAndBlankLines(t *testing.T) {
	row := "F%d;K1;N;2026-01-01;2026-01-31;1"
	mk := func(n int) string { return strings.Replace(row, "%d", itoa(n), 1) }
	for name, tt := range map[string]struct {
		in    string
		lines []int
	}{
		"lf":             {minimalHeader + "\n" + mk(1) + "\n" + mk(2), []int{2, 3}},
		"crlf":           {minimalHeader + "\r\n" + mk(1) + "\r\n" + mk(2) + "\r\n", []int{2, 3}},
		"cr (old mac)":   {minimalHeader + "\r" + mk(1) + "\r" + mk(2) + "\r", []int{2, 3}},
		"blank lines":    {minimalHeader + "\n\n" + mk(1) + "\n  \n;;;;;\n" + mk(2) + "\n\n", []int{3, 6}},
		"excel sep line": {"sep=;\r\n" + minimalHeader + "\r\n" + mk(1) + "\r\n", []int{3}},
		"trailing seps":  {minimalHeader + ";\n" + mk(1) + ";\n" + mk(2) + ";;\n", []int{2, 3}},
	} {
		t.Run(name, func(t *testing.T) {
			res := parseCSV(t, tt.in, optsEUR)
			require.Empty(t, res.Rejected)
			require.Equal(t, len(tt.lines), res.Total)
			var lines []int
			for _, r := range res.Rows {
				lines = append(lines, r.Line)
			}
			require.Equal(t, tt.lines, lines)
		})
	}
}

func TestSeparatorDetection(t *testing.T) {
	tests := map[string]string{
		"semicolon":              minimalHeader + "\nF1;K1;N;2026-01-01;2026-01-31;1,50\n",
		"comma":                  strings.ReplaceAll(minimalHeader, ";", ",") + "\nF1,K1,N,2026-01-01,2026-01-31,1.50\n",
		"tab":                    strings.ReplaceAll(minimalHeader, ";", "\t") + "\nF1\tK1\tN\t2026-01-01\t2026-01-31\t1.50\n",
		"quoted name with comma": `"invoice_number";"customer_ref";"customer_name";"issue_date";"due_date";"amount, incl. VAT"` + "\n",
		"sep line overrides":     "sep=,\n" + strings.ReplaceAll(minimalHeader, ";", ",") + "\nF1,K1,N;V,2026-01-01,2026-01-31,\"1,50\"\n",
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			res, err := ParseCSV(strings.NewReader(in), optsEUR)
			if name == "quoted name with comma" {
				// ";" wins (five known names); the comma stays inside the
				// name, read as amount_incl_vat (an alias of amount).
				require.ErrorIs(t, err, ErrEmpty)
				return
			}
			require.NoError(t, err)
			require.Empty(t, res.Rejected)
			require.Equal(t, int64(150), res.Rows[0].Invoice.AmountMinor)
		})
	}
}

func TestRowValidation(t *testing.T) {
	in := minimalHeader + ";open_amount;currency;email;phone;country;language;legal_id\n" +
		"F01;K1;Jan;2026-01-01;2026-01-31;100;;;jan@x.be;;;;\n" + // 2 valid
		"F02;K1;Jan;2026-01-01;2026-01-31;100;100;EUR;jan@x.be;;BE;NL;\n" + // 3 valid: same customer after defaults
		"F03;K1;Jan;2026-01-01;2026-01-31;100;;;JAN@X.BE;;;;\n" + // 4 valid: email case differs only
		"F04;K1;Jan;2026-01-01;2026-01-31;100;;;jan@x.be;0470;;;\n" + // 5 conflict: phone
		"F05;K2;Piet;2026-01-01;2026-01-31;100;;;Piet <piet@x.be>;;;;\n" + // 6 display name
		"F06;K3;Kees;2026-01-01;2026-01-31;100;;;kees@localhost;;;;\n" + // 7 no dotted domain
		"F07;K4;An;2026-01-01;2026-01-31;100;;;;;uk;en-GB;\n" + // 8 valid: UK → GB
		"F08;K5;Els;2026-01-01;2026-01-31;100;;;;;B;;\n" + // 9 country
		"F09;K6;Bo;2026-01-01;2026-01-31;100;;eur;;;;;\n" + // 10 valid: currency upper-cased
		"F10;K7;Lo;2026-01-01;2026-01-31;100;;EURO;;;;;\n" + // 11 currency
		"F11;K8;Mo;2026-01-01;2026-01-31;100;100,01;;;;;;\n" + // 12 open > amount
		"F12;K9;Ra;2026-01-01;2026-01-31;0;0;;;;;;\n" + // 13 valid: zero
		"F13;K10;Su;2026-01-01;2026-01-01;1;;;;;;;" + strings.Repeat("x", 256) + "\n" + // 14 legal_id too long
		"F14;" + strings.Repeat("é", 255) + ";Ti;2026-01-01;2026-01-01;1;;;;;;;\n" // 15 valid: 255 characters
	res := parseCSV(t, in, optsEUR)
	require.Equal(t, []string{
		`5 phone: customer "K1" has different data on line 2 (empty there)`,
		"9 country: must be a 2-letter ISO country code",
		"11 currency: not an ISO 4217 currency code",
		"12 open_amount: open amount is greater than the amount (100)",
		"14 legal_id: longer than 255 characters",
	}, rejections(res))
	require.Len(t, res.Rows, 9)
	// A bad email is a warning: the row is kept, without the address.
	require.Equal(t, []RowError{
		{Line: 6, Field: "email", Value: "Piet <piet@x.be>", Reason: "must be a single bare address (no name, no list); the customer is chased without email (by letter when an address is known)"},
		{Line: 7, Field: "email", Value: "kees@localhost", Reason: "not a valid email address; the customer is chased without email (by letter when an address is known)"},
	}, res.Warnings)
	require.Equal(t, 6, res.Rows[3].Line)
	require.Empty(t, res.Rows[3].Customer.Email)
	require.False(t, res.Rows[3].Given.Has("email"), "an invalid email must not overwrite a stored one")
	require.Equal(t, "GB", res.Rows[5].Customer.Country)
	require.Equal(t, "en", res.Rows[5].Customer.Language)
	require.Equal(t, "EUR", res.Rows[6].Invoice.Currency)
	require.Zero(t, res.Rows[7].Invoice.AmountMinor)
	require.Equal(t, strings.Repeat("x", 99)+"…", res.Rejected[4].Value, "long values are shortened in errors")
}

func TestNoDefaultCurrency(t *testing.T) {
	in := minimalHeader + ";currency\nF1;K1;N;2026-01-01;2026-01-31;1;\nF2;K1;N;2026-01-01;2026-01-31;1;CHF\n"
	res := parseCSV(t, in, Options{})
	require.Equal(t, []string{"2 currency: required (the import has no default currency)"}, rejections(res))
	require.Equal(t, "CHF", res.Rows[0].Invoice.Currency)
	require.Empty(t, res.Rows[0].Customer.Country, "no default country")
	require.Empty(t, res.Rows[0].Customer.Language, "no default language")
}

func TestDecimalConvention(t *testing.T) {
	rows := func(amounts ...string) string {
		s := minimalHeader + "\n"
		for i, a := range amounts {
			s += "F" + itoa(i) + ";K;N;2026-01-01;2026-01-31;\"" + a + "\"\n"
		}
		return s
	}
	amounts := func(res Result) []int64 {
		var out []int64
		for _, r := range res.Rows {
			out = append(out, r.Invoice.AmountMinor)
		}
		return out
	}
	res := parseCSV(t, rows("1.500", "12,50"), optsEUR)
	require.Equal(t, []int64{150000, 1250}, amounts(res), "decimal commas elsewhere: 1.500 is 1500")
	res = parseCSV(t, rows("1,500", "12.50"), optsEUR)
	require.Equal(t, []int64{150000, 1250}, amounts(res), "decimal points elsewhere: 1,500 is 1500")
	res = parseCSV(t, rows("1.500", "2.000"), optsEUR)
	require.Equal(t, []string{"2 amount: " + reasonAmbiguous, "3 amount: " + reasonAmbiguous}, rejections(res))
	res = parseCSV(t, rows("1.500", "12,50", "12.50"), optsEUR)
	require.Equal(t, []string{"2 amount: " + reasonAmbiguous}, rejections(res), "mixed conventions")
	require.Equal(t, []int64{1250, 1250}, amounts(res))
}

func TestAmountMinorColumn(t *testing.T) {
	in := "invoice_number;customer_ref;customer_name;issue_date;due_date;amount_minor;open_amount_minor;currency\n" +
		"F1;K;N;2026-01-01;2026-01-31;123456;100;JPY\n" +
		"F2;K;N;2026-01-01;2026-01-31;12.5;;\n" +
		"F3;K;N;2026-01-01;2026-01-31;-1;;\n" +
		"F4;K;N;2026-01-01;2026-01-31;;;\n"
	res := parseCSV(t, in, optsEUR)
	require.Equal(t, []string{
		"3 amount_minor: not an integer number of minor units",
		"4 amount_minor: " + reasonNegative,
		"5 amount: required",
	}, rejections(res))
	require.Equal(t, InvoiceRow{Number: "F1", IssueDate: day(2026, 1, 1), DueDate: day(2026, 1, 31), Currency: "JPY", AmountMinor: 123456, OpenMinor: 100}, res.Rows[0].Invoice)
}

func TestMaxRows(t *testing.T) {
	in := minimalHeader + "\nF1;K;N;2026-01-01;2026-01-31;1\n\nF2;K;N;2026-01-01;2026-01-31;1\nF3;K;N;2026-01-01;2026-01-31;1\n"
	res, err := ParseCSV(strings.NewReader(in), Options{DefaultCurrency: "EUR", MaxRows: 3})
	require.NoError(t, err)
	require.Len(t, res.Rows, 3)
	res, err = ParseCSV(strings.NewReader(in), Options{DefaultCurrency: "EUR", MaxRows: 2})
	require.ErrorIs(t, err, ErrTooManyRows)
	require.Contains(t, err.Error(), "more than 2 data rows (line 5)")
	require.Empty(t, res.Rows, "nothing half-imported")
}

func TestOptionsErrors(t *testing.T) {
	for _, opt := range []Options{
		{DefaultCurrency: "EURO"}, {DefaultCurrency: "XYZ"}, {DefaultCountry: "BEL"}, {DefaultLanguage: "es"},
		{DateOrder: "YMD"}, {MaxRows: -1},
	} {
		_, err := ParseCSV(strings.NewReader(minimalHeader), opt)
		require.ErrorIs(t, err, ErrOptions, "%+v", opt)
		_, err = ParseJSON(strings.NewReader(`{"rows":[]}`), opt)
		require.ErrorIs(t, err, ErrOptions, "%+v", opt)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestReadError(t *testing.T) {
	_, err := ParseCSV(failingReader{}, optsEUR)
	require.ErrorContains(t, err, "connection reset")
	_, err = ParseJSON(failingReader{}, optsEUR)
	require.ErrorContains(t, err, "connection reset")
}

func TestRowErrorMessage(t *testing.T) {
	require.Equal(t, `line 4: due_date "31/02/2026": invalid date`, RowError{Line: 4, Field: "due_date", Value: "31/02/2026", Reason: "invalid date"}.Error())
	require.Equal(t, "line 4: amount: required", RowError{Line: 4, Field: "amount", Reason: "required"}.Error())
	require.Equal(t, "line 4: expected 6 fields", RowError{Line: 4, Reason: "expected 6 fields"}.Error())
}
