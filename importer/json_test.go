package importer

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func parseJSON(t *testing.T, in string, opt Options) Result {
	t.Helper()
	res, err := ParseJSON(strings.NewReader(in), opt)
	require.NoError(t, err)
	return res
}

func TestJSONRows(t *testing.T) {
	in := "\ufeff" + `{"rows": [
		{"invoice_number": "F1", "customer_ref": "K1", "customer_name": "Jansen BV", "issue_date": "2026-01-15",
		 "due_date": "14-02-2026", "amount": "1.234,56", "open_amount": "234,56", "currency": "EUR",
		 "email": "jan@jansen.be", "phone": "+32 470 12 34 56", "address_line1": "Kerkstraat 1", "address_line2": null,
		 "postal_code": 9000, "city": "Gent", "country": "be", "language": "NL", "legal_id": "BE0123456789"},
		{"Factuurnummer": 10002, "Debiteurnummer": "K2", "Naam": "Piet", "Factuurdatum": 20260115,
		 "Vervaldatum": "2026-02-14T00:00:00Z", "Bedrag": 99.5},
		{"invoice_number": "F3", "customer_ref": "K3", "customer_name": "Kees", "issue_date": "2026-01-15",
		 "due_date": "2026-02-14", "amount_minor": 1500, "open_amount_minor": 0, "currency": "JPY"}
	]}`
	res := parseJSON(t, in, optsEUR)
	require.Empty(t, res.Rejected)
	require.Equal(t, 3, res.Total)
	require.Equal(t, []Row{
		{Line: 1,
			Customer: CustomerRow{Ref: "K1", Name: "Jansen BV", Email: "jan@jansen.be", Phone: "+32 470 12 34 56", AddressLine1: "Kerkstraat 1",
				PostalCode: "9000", City: "Gent", Country: "BE", Language: "nl", LegalID: "BE0123456789"},
			Invoice: InvoiceRow{Number: "F1", IssueDate: day(2026, 1, 15), DueDate: day(2026, 2, 14), Currency: "EUR", AmountMinor: 123456, OpenMinor: 23456},
			// address_line2 is null: the same as absent.
			Given: given("invoice_number", "customer_ref", "customer_name", "issue_date", "due_date", "amount", "open_amount", "currency",
				"email", "phone", "address_line1", "postal_code", "city", "country", "language", "legal_id")},
		{Line: 2,
			Customer: CustomerRow{Ref: "K2", Name: "Piet", Country: "BE", Language: "nl"},
			Invoice:  InvoiceRow{Number: "10002", IssueDate: day(2026, 1, 15), DueDate: day(2026, 2, 14), Currency: "EUR", AmountMinor: 9950, OpenMinor: 9950},
			Given:    given("invoice_number", "customer_ref", "customer_name", "issue_date", "due_date", "amount")},
		{Line: 3,
			Customer: CustomerRow{Ref: "K3", Name: "Kees", Country: "BE", Language: "nl"},
			Invoice:  InvoiceRow{Number: "F3", IssueDate: day(2026, 1, 15), DueDate: day(2026, 2, 14), Currency: "JPY", AmountMinor: 1500, OpenMinor: 0},
			Given:    given("invoice_number", "customer_ref", "customer_name", "issue_date", "due_date", "amount_minor", "open_amount_minor", "currency")},
	}, res.Rows)
}

// TestJSONRowErrors is the JSON side of the CSV fixture: the same problems,
// reported on the row's index.
func TestJSONRowErrors(t *testing.T) {
	base := `"customer_ref": "K%d", "customer_name": "N", "issue_date": "2026-01-01", "due_date": "2026-01-31"`
	row := func(i int, extra string) string {
		return "{" + strings.Replace(base, "%d", itoa(i), 1) + `, "invoice_number": "F` + itoa(i) + `"` + extra + "}"
	}
	full := func(i int, ref, name, extra string) string {
		return `{"invoice_number": "F` + itoa(i) + `", "customer_ref": "` + ref + `", "customer_name": ` + name +
			`, "issue_date": "2026-01-01", "due_date": "2026-01-31", "amount": "10"` + extra + "}"
	}
	rows := []string{
		row(1, `, "amount": "12,50"`),                               // valid, votes for decimal commas
		row(2, `, "amount": 1.234`),                                 // JSON number: decimal point, 3 decimals
		row(3, `, "amount": "1.234"`),                               // string: decimal commas in the file, 1234
		row(4, `, "amount": -5`),                                    // negative
		row(5, `, "amount": 1e3`),                                   // exponent
		row(6, `, "amount": true`),                                  // wrong type
		row(7, `, "amount": "10", "amount_minor": 1000`),            // both
		row(8, `, "amount": 10, "open_amount": 11`),                 // open > amount
		row(9, `, "amount": 10, "bedrag": 10`),                      // key twice, under an alias
		row(10, `, "amount": 10, "email": "x@", "language": "es"`),  // two errors
		row(11, `, "amount": 10, "currency": "XYZ"`),                // unknown currency
		row(12, `, "amount": 10, "due_date": "2025-12-31"`),         // due_date twice
		`"not an object"`,                                           // 13
		`[1, 2]`,                                                    // 14
		full(15, "K15", "null", ""),                                 // null is absent
		row(16, `, "amount": 10, "invoice_number": "F1"`),           // key twice
		row(17, `, "amount_minor": 10, "open_amount_minor": 10.5`),  // not an integer
		full(18, "K1", `"N"`, ""),                                   // same customer as row 1: fine
		full(19, "K1", `"N"`, `, "city": "X"`),                      // conflicts with row 1
		row(20, `, "amount": 10, "address_line1": {"street": "M"}`), // object
		row(21, `, "amount": 10, "city": "Gent\u0000"`),             // control character
	}
	res := parseJSON(t, `{"rows": [`+strings.Join(rows, ",\n")+`]}`, optsEUR)
	require.Equal(t, 21, res.Total)
	require.Equal(t, []string{
		"2 amount: more than 2 decimals (EUR has 2)",
		"4 amount: " + reasonNegative,
		"5 amount: " + reasonExponent,
		"6 amount: must be a string or a number",
		"7 amount_minor: " + reasonBothAmount,
		"8 open_amount: open amount is greater than the amount (10)",
		`9 amount: given twice (as "amount" and "bedrag")`,
		"10 language: must be nl, fr, en or de",
		"11 currency: unknown currency XYZ",
		`12 due_date: given twice (as "due_date" and "due_date")`,
		"13: row is not a JSON object",
		"14: row is not a JSON object",
		"15 customer_name: required",
		`16 invoice_number: given twice (as "invoice_number" and "invoice_number")`,
		"17 open_amount_minor: not an integer number of minor units",
		`19 city: customer "K1" has different data on line 1 (empty there)`,
		"20 address_line1: must be a string or a number",
		"21 city: contains control characters",
	}, rejections(res))
	require.Len(t, res.Rows, 3)
	require.Equal(t, []int{1, 3, 18}, []int{res.Rows[0].Line, res.Rows[1].Line, res.Rows[2].Line})
	require.Equal(t, int64(123400), res.Rows[1].Invoice.AmountMinor)
}

func TestJSONDuplicateNumbers(t *testing.T) {
	r := `{"invoice_number": "F1", "customer_ref": "K", "customer_name": "N", "issue_date": "2026-01-01", "due_date": "2026-01-31", "amount": 1}`
	res := parseJSON(t, `{"rows": [`+r+","+r+"]}", optsEUR)
	require.Equal(t, []string{
		"1 invoice_number: duplicate invoice number in this file (lines 1, 2)",
		"2 invoice_number: duplicate invoice number in this file (lines 1, 2)",
	}, rejections(res))
	require.Empty(t, res.Rows)
}

func TestJSONFileErrors(t *testing.T) {
	valid := `{"invoice_number": "F1", "customer_ref": "K", "customer_name": "N", "issue_date": "2026-01-01", "due_date": "2026-01-31", "amount": 1}`
	tests := []struct {
		name, in string
		err      error
		want     string
	}{
		{"empty", "", ErrEmpty, "empty"},
		{"whitespace", " \n", ErrEmpty, "empty"},
		{"no rows", `{"rows": []}`, ErrEmpty, `"rows" is empty`},
		{"array", `[` + valid + `]`, ErrNotJSON, `found an array (wrap it as {"rows": [...]})`},
		{"csv", minimalHeader + "\n", ErrNotJSON, "line 1, column 1"},
		{"syntax", "{\"rows\": [\n" + valid + ",\n{\"amount\": }]}", ErrNotJSON, "line 3, column 12"},
		{"truncated", `{"rows": [` + valid, ErrNotJSON, "ends too early"},
		{"trailing data", `{"rows": [` + valid + `]} {}`, ErrNotJSON, "data after the end"},
		{"other top-level key", `{"rows": [` + valid + `], "meta": {}}`, ErrNotJSON, `unexpected key "meta"`},
		{"rows twice", `{"rows": [], "rows": []}`, ErrNotJSON, `unexpected key "rows"`},
		{"missing rows", `{}`, ErrNotJSON, `missing "rows"`},
		{"rows not an array", `{"rows": {}}`, ErrNotJSON, `expected an array after "rows", found an object`},
		{"rows null", `{"rows": null}`, ErrNotJSON, `found null`},
		{"not utf-8", "{\"rows\": [\"caf\xe9\"]}", ErrNotJSON, "not UTF-8"},
		{"required key nowhere", `{"rows": [{"invoice_number": "F1", "customer_ref": "K", "customer_name": "N", "issue_date": "2026-01-01", "amount": 1}]}`, ErrHeader, `required key "due_date" is in no row`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ParseJSON(strings.NewReader(tt.in), optsEUR)
			require.ErrorIs(t, err, tt.err)
			require.Contains(t, err.Error(), tt.want)
			require.Empty(t, res.Rows)
		})
	}
}

func TestJSONMaxRows(t *testing.T) {
	r := `{"invoice_number": "F%d", "customer_ref": "K", "customer_name": "N", "issue_date": "2026-01-01", "due_date": "2026-01-31", "amount": 1}`
	in := `{"rows": [` + strings.Replace(r, "%d", "1", 1) + "," + strings.Replace(r, "%d", "2", 1) + `]}`
	res, err := ParseJSON(strings.NewReader(in), Options{DefaultCurrency: "EUR", MaxRows: 2})
	require.NoError(t, err)
	require.Len(t, res.Rows, 2)
	_, err = ParseJSON(strings.NewReader(in), Options{DefaultCurrency: "EUR", MaxRows: 1})
	require.ErrorIs(t, err, ErrTooManyRows)
}

// TestCSVAndJSONAgree parses the same rows in both formats.
func TestCSVAndJSONAgree(t *testing.T) {
	csvIn := "invoice_number,customer_ref,customer_name,email,country,language,issue_date,due_date,amount,open_amount,currency\n" +
		"A1,C1,Acme,ap@acme.com,US,en,2026-01-02,2026-02-01,\"1,234.50\",100,USD\n" +
		"A2,C2,Beta,,NL,nl,2026-01-03,2026-02-02,12.00,,EUR\n"
	jsonIn := `{"rows": [
		{"invoice_number": "A1", "customer_ref": "C1", "customer_name": "Acme", "email": "ap@acme.com", "country": "US", "language": "en",
		 "issue_date": "2026-01-02", "due_date": "2026-02-01", "amount": "1,234.50", "open_amount": 100, "currency": "USD"},
		{"invoice_number": "A2", "customer_ref": "C2", "customer_name": "Beta", "email": "", "country": "NL", "language": "nl",
		 "issue_date": "2026-01-03", "due_date": "2026-02-02", "amount": 12.00, "currency": "EUR"}
	]}`
	fromCSV := parseCSV(t, csvIn, optsEUR)
	fromJSON := parseJSON(t, jsonIn, optsEUR)
	require.Empty(t, fromCSV.Rejected)
	require.Empty(t, fromJSON.Rejected)
	require.Len(t, fromJSON.Rows, 2)
	for i := range fromCSV.Rows {
		require.Equal(t, fromCSV.Rows[i].Customer, fromJSON.Rows[i].Customer)
		require.Equal(t, fromCSV.Rows[i].Invoice, fromJSON.Rows[i].Invoice)
	}
}

// TestJSONUnknownKeysIgnored: keys Relance does not read are listed, never
// fatal; a row with only unknown keys is a row without its required fields.
func TestJSONUnknownKeysIgnored(t *testing.T) {
	in := `{"rows": [{"invoice_number": "F1", "customer_ref": "K", "customer_name": "N", "issue_date": "2026-01-01", "due_date": "2026-01-31",
		"amount": 1, "kostenplaats": "KP1", "amout": 2}]}`
	res := parseJSON(t, in, optsEUR)
	require.Empty(t, res.Rejected)
	require.Equal(t, int64(100), res.Rows[0].Invoice.AmountMinor)
	require.Equal(t, []IgnoredColumn{{Column: "kostenplaats"}, {Column: "amout", DidYouMean: "amount"}}, res.Ignored)
}
