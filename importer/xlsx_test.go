package importer

import (
	"archive/zip"
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

// workbook builds an .xlsx file: rows from A1 on; a time.Time becomes a date
// cell, a float64 a number cell, a string a text cell.
func workbook(t testing.TB, rows [][]any, dateCols ...string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, r := range rows {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		require.NoError(t, err)
		require.NoError(t, f.SetSheetRow("Sheet1", cell, &r))
	}
	if len(dateCols) > 0 {
		style, err := f.NewStyle(&excelize.Style{NumFmt: 14})
		require.NoError(t, err)
		for _, c := range dateCols {
			require.NoError(t, f.SetCellStyle("Sheet1", c+"1", c+itoa(len(rows)), style))
		}
	}
	var b bytes.Buffer
	require.NoError(t, f.Write(&b))
	return b.Bytes()
}

func TestParseXLSX(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	data := workbook(t, [][]any{
		{"Offene Posten – Stand 30.01.2026"},
		{},
		{"Kundennummer", "Kunde", "Rechnungsnr.", "Rechnungsdatum", "Fällig am", "Bruttobetrag", "Offener Betrag", "Sprache", "Bemerkung"},
		{"K-1", "Bäckerei Schmidt", "2026-0042", day(2026, 1, 5), day(2026, 1, 19), 1190.0, 1190.0, "Deutsch", "x"},
		{"K-1", "Bäckerei Schmidt", 43.0, day(2026, 1, 12), "26.01.2026", 357.0, 0.1 + 0.2, "Deutsch"},
		{},
		{"K-2", "Smith Ltd", "2026-0044", "2025-12-01", day(2025, 12, 31), "1.234", 1.234, "Englisch", "", "stray"},
		{"K-3", "Jones Ltd", "2026-0045", 20251201.0, day(2025, 12, 31), 1.0, 1.005, "en"},
	}, "D", "E")
	res, err := ParseXLSX(bytes.NewReader(data), Options{DefaultCurrency: "EUR", DefaultCountry: "DE"})
	require.NoError(t, err)
	require.Equal(t, 4, res.Total)
	require.Equal(t, []IgnoredColumn{{Column: "Bemerkung"}}, res.Ignored)
	require.Len(t, res.Rows, 2)
	first := res.Rows[0]
	require.Equal(t, 4, first.Line, "the sheet's row number; the title rows are skipped")
	require.Equal(t, InvoiceRow{Number: "2026-0042", IssueDate: day(2026, 1, 5), DueDate: day(2026, 1, 19), Currency: "EUR", AmountMinor: 119000, OpenMinor: 119000}, first.Invoice)
	require.Equal(t, "de", first.Customer.Language)
	second := res.Rows[1]
	require.Equal(t, "43", second.Invoice.Number, "a number cell read as written")
	require.Equal(t, day(2026, 1, 26), second.Invoice.DueDate, "a text date")
	require.Equal(t, int64(30), second.Invoice.OpenMinor, "0.30000000000000004 is 0.30")
	require.Equal(t, []string{
		// "1.234" as text is ambiguous; 1.234 as a number has 3 decimals.
		"7: a value in column 10, which has no header",
		"8 open_amount: more than 2 decimals (EUR has 2)",
	}, rejections(res))
}

func TestParseXLSXRefusals(t *testing.T) {
	good := workbook(t, [][]any{{"invoice_number", "customer_ref", "customer_name", "issue_date", "due_date", "amount"}, {"F1", "K", "N", "2026-01-01", "2026-01-31", 1.5}})
	res, err := ParseXLSX(bytes.NewReader(good), optsEUR)
	require.NoError(t, err)
	require.Len(t, res.Rows, 1)

	tests := []struct {
		name string
		in   []byte
		err  error
		want string
	}{
		{"a CSV file", []byte(minimalHeader + "\nF1;K1;N;2026-01-01;2026-01-31;1,50\n"), ErrNotXLSX, "not a ZIP-based workbook"},
		{"an old .xls", []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest"), ErrNotXLSX, "old Excel .xls"},
		{"a truncated workbook", good[:len(good)/2], ErrNotXLSX, ""},
		{"a ZIP that is not a workbook", zipOf(t, "hello.txt", "hi"), ErrNotXLSX, ""},
		{"empty", nil, ErrEmpty, ""},
		{"no data", workbook(t, [][]any{}), ErrEmpty, "no sheet"},
		{"header only", workbook(t, [][]any{{"invoice_number", "customer_ref", "customer_name", "issue_date", "due_date", "amount"}}), ErrEmpty, "no data rows"},
		{"missing column", workbook(t, [][]any{{"invoice_number", "customer_ref"}, {"F1", "K"}}), ErrHeader, `missing required column "customer_name"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ParseXLSX(bytes.NewReader(tt.in), optsEUR)
			require.ErrorIs(t, err, tt.err)
			require.ErrorContains(t, err, tt.want)
			require.Empty(t, res.Rows)
		})
	}
	// The CSV parser names an .xlsx given to it.
	_, err = ParseCSV(bytes.NewReader(good), optsEUR)
	require.ErrorIs(t, err, ErrNotCSV)
	require.ErrorContains(t, err, "import it as xlsx")
}

func zipOf(t testing.TB, name, content string) []byte {
	t.Helper()
	return rezip(t, nil, name, content)
}

func FuzzParseXLSX(f *testing.F) {
	f.Add(workbook(f, [][]any{{"invoice_number", "customer_ref", "customer_name", "issue_date", "due_date", "amount", "email"},
		{"F1", "K", "N", 46023.0, "2026-01-31", 1.5, "x@"}, {"F1", "K", "M", "", "", "abc"}}))
	f.Add(workbook(f, [][]any{{"title"}, {}, {"Factuurnummer", "Debiteur", "Naam", "Factuurdatum", "Vervaldatum", "Bedrag", "Openstaand"}, {1.0, 2.0, "N", 1e300, -5.0, 1e20, "2"}}))
	f.Add([]byte("PK\x03\x04garbage"))
	f.Fuzz(func(t *testing.T, in []byte) {
		res, err := ParseXLSX(bytes.NewReader(in), Options{DefaultCurrency: "EUR", MaxRows: 1000})
		maxLine := 1 << 20
		for _, r := range res.Rows {
			require.Positive(t, r.Line)
		}
		checkInvariants(t, res, err, maxLine)
	})
}

func FuzzMapping(f *testing.F) {
	f.Add("customer_ref", "Deb. nr.", "amount", "Bedrag incl.", minimalHeader+";Deb. nr.\nF1;K1;N;2026-01-01;2026-01-31;1,50;X\n")
	f.Add("Amount", "", "language", "", "a;b\n1;2\n")
	f.Fuzz(func(t *testing.T, f1, c1, f2, c2, in string) {
		m := Mapping{f1: c1, f2: c2}
		err := CheckMapping(m)
		res, perr := ParseCSV(strings.NewReader(in), Options{DefaultCurrency: "EUR", MaxRows: 1000, Mapping: m})
		if err != nil {
			require.ErrorIs(t, perr, ErrMapping, "an invalid mapping fails the parse")
			return
		}
		checkInvariants(t, res, perr, strings.Count(in, "\n")+strings.Count(in, "\r")+1)
	})
}

// rezip returns a ZIP archive holding one file.
func rezip(t testing.TB, _ []byte, name, content string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	fw, err := w.Create(name)
	require.NoError(t, err)
	_, err = fw.Write([]byte(content))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

// TestParseXLSXMutations runs the XLSX parser on 300 seeded random
// corruptions of a workbook (the fuzz target's property, on a fixed sample
// that runs in every test run): never a panic or a hang, and whatever is
// read keeps the invariants of every parse.
func TestParseXLSXMutations(t *testing.T) {
	base := workbook(t, [][]any{{"invoice_number", "customer_ref", "customer_name", "issue_date", "due_date", "amount", "email"},
		{"F1", "K", "N", 46023.0, "2026-01-31", 1.5, "x@"}, {"F2", "K", "N", "", "", "abc"}, {"F3", "L", "M", 46024.0, 46054.0, 2.25}})
	r := rand.New(rand.NewPCG(1, 2))
	parsed := 0
	for i := range 300 {
		in := append([]byte(nil), base...)
		for range 1 + r.IntN(4) {
			in[r.IntN(len(in))] = byte(r.IntN(256))
		}
		done := make(chan struct{})
		var res Result
		var err error
		go func() {
			defer close(done)
			res, err = ParseXLSX(bytes.NewReader(in), Options{DefaultCurrency: "EUR", MaxRows: 1000})
		}()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatalf("mutation %d: the parse does not end", i)
		}
		checkInvariants(t, res, err, 1<<20)
		if err == nil {
			parsed++
		}
	}
	t.Logf("%d of 300 corrupted workbooks still read", parsed)
}
