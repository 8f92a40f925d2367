package importer

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkInvariants asserts what every caller relies on, whatever the input:
// each row is complete and consistent, lines are unique and in the file,
// and rows plus rejected rows account for every data row read.
func checkInvariants(t *testing.T, res Result, err error, maxLine int) {
	t.Helper()
	if err != nil {
		require.Empty(t, res.Rows, "a file-level error returns no rows")
		require.Empty(t, res.Rejected)
		return
	}
	require.Positive(t, res.Total)
	seen := map[int]bool{}
	prev := 0
	for _, r := range res.Rows {
		require.Greater(t, r.Line, prev, "rows in file order, lines unique")
		prev = r.Line
		seen[r.Line] = true
		require.GreaterOrEqual(t, r.Line, 1)
		require.LessOrEqual(t, r.Line, maxLine)
		require.NotEmpty(t, r.Invoice.Number)
		require.NotEmpty(t, r.Customer.Ref)
		require.NotEmpty(t, r.Customer.Name)
		require.NotEmpty(t, r.Invoice.Currency)
		require.GreaterOrEqual(t, r.Invoice.OpenMinor, int64(0))
		require.LessOrEqual(t, r.Invoice.OpenMinor, r.Invoice.AmountMinor)
		require.False(t, r.Invoice.DueDate.Before(r.Invoice.IssueDate))
		require.False(t, r.Invoice.IssueDate.IsZero())
		for _, f := range []string{r.Invoice.Number, r.Customer.Ref, r.Customer.Name, r.Customer.Email, r.Customer.City} {
			require.LessOrEqual(t, len([]rune(f)), maxFieldLen)
		}
	}
	rejected := map[int]bool{}
	prev = 0
	for _, e := range res.Rejected {
		require.GreaterOrEqual(t, e.Line, prev, "rejected sorted by line")
		prev = e.Line
		require.False(t, seen[e.Line], "line %d both valid and rejected", e.Line)
		require.GreaterOrEqual(t, e.Line, 1)
		require.LessOrEqual(t, e.Line, maxLine)
		require.NotEmpty(t, e.Reason)
		rejected[e.Line] = true
	}
	require.Equal(t, res.Total, len(res.Rows)+len(rejected), "every data row is valid or rejected")
}

func fuzzSeeds() []string {
	fixture, _ := os.ReadFile(dutchFixture)
	return []string{
		minimalHeader + "\nF1;K1;N;2026-01-01;2026-01-31;1,50\n",
		minimalHeader + ";open_amount;currency\nF1;K1;N;31/01/2026;2026-01-31;\"1.234\";12,5;JPY\nF1;K1;M;2026-01-01;;-1;;\n",
		"sep=,\ninvoice,customer_id,name,invoice_date,due_date,total\n\"a\"\"b\",c,\"d\ne\",20260101,20260102,\"(1,00)\"\r\n",
		"\ufeffFactuurnummer;Debiteurnummer;Naam;Factuurdatum;Vervaldatum;Bedrag\r\nF\xe9;K;N;1/2/2026;3/2/2026;\x80 1\r",
		"invoice_number\tcustomer_ref\tcustomer_name\tissue_date\tdue_date\tamount_minor\n1\t2\t3\t2026-01-01T10:00:00Z\t2026-01-01\t9223372036854775807\n",
		minimalHeader + "\n\"unterminated;K;N;2026-01-01;2026-01-31;1\n",
		minimalHeader + "\n\"F\"x;K;N;2026-01-01;2026-01-31;1\n;;;\n",
		"\x89PNG\r\n\x1a\n\x00",
		`{"rows": []}`,
		"",
		string(fixture),
	}
}

func FuzzParseCSV(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, in []byte, mdy bool) {
		opt := Options{DefaultCurrency: "EUR", DefaultCountry: "BE", DefaultLanguage: "nl", MaxRows: 1000}
		if mdy {
			opt.DateOrder = "MDY"
		}
		res, err := ParseCSV(bytes.NewReader(in), opt)
		maxLine := bytes.Count(in, []byte("\n")) + bytes.Count(in, []byte("\r")) + 1
		checkInvariants(t, res, err, maxLine)
		if err == nil {
			for _, r := range res.Rows {
				require.GreaterOrEqual(t, r.Line, 2, "line 1 at least is the header")
			}
		}
	})
}

func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`{"rows": [{"invoice_number": "F1", "customer_ref": "K", "customer_name": "N", "issue_date": "2026-01-01", "due_date": "2026-01-31", "amount": 1.5, "open_amount": "1,5"}]}`))
	f.Add([]byte(`{"rows": [{"invoice_number": 1, "customer_ref": "K", "customer_name": "N", "issue_date": 20260101, "due_date": "2026-01-31", "amount_minor": 10, "open_amount_minor": 11}, 3, null]}`))
	f.Add([]byte(`{"rows": [{"Factuurnummer": "F1", "bedrag": "1.234", "bedrag": 3}]}`))
	f.Add([]byte(`[{"invoice_number": "F1"}]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		res, err := ParseJSON(bytes.NewReader(in), Options{DefaultCurrency: "EUR", MaxRows: 1000})
		checkInvariants(t, res, err, max(res.Total, 1))
	})
}

// generatedExport is a valid export of n rows in the fixture's style.
func generatedExport(n int) []byte {
	customers := genCustomers(500)
	r := rng(1)
	var b bytes.Buffer
	b.WriteString("\ufeff" + dutchHeader + "\r\n")
	for i := 0; i < n; i++ {
		b.WriteString(csvLine(genRow(i, customers, &r), ";") + "\r\n")
	}
	return b.Bytes()
}

func TestGeneratedExportIsValid(t *testing.T) {
	res, err := ParseCSV(bytes.NewReader(generatedExport(2000)), Options{DefaultCurrency: "EUR", DefaultCountry: "BE"})
	require.NoError(t, err)
	require.Empty(t, res.Rejected)
	require.Len(t, res.Rows, 2000)
}

// BenchmarkParseCSV parses a 10,000-row export and reports rows per second,
// the import figure of docs/domain.md §4.
func BenchmarkParseCSV(b *testing.B) {
	const n = 10000
	in := generatedExport(n)
	opt := Options{DefaultCurrency: "EUR", DefaultCountry: "BE"}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := ParseCSV(bytes.NewReader(in), opt)
		if err != nil || len(res.Rows) != n {
			b.Fatalf("rows %d, err %v, first rejection %v", len(res.Rows), err, strings.Join(rejections(res)[:min(1, len(res.Rejected))], ""))
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
