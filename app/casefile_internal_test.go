package app

import (
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/activities"
)

// TestCaseFileCSV: one row per invoice, the case's columns repeated, plain
// decimal amounts in the currency's decimals, and cells a spreadsheet
// would run as a formula quoted (a negative amount stays a number).
func TestCaseFileCSV(t *testing.T) {
	f := activities.CaseFile{CaseID: 7, Administration: "Acme BV", Currency: "EUR",
		Customer:       activities.CaseFileCustomer{Reference: "D-1", Name: "=HYPERLINK(\"http://evil\")", Type: "consumer", City: "@Gent"},
		PrincipalMinor: 150050, InterestMinor: 1234, CostsMinor: 22508, WaivedMinor: 0, TotalMinor: 173792,
		AsOf: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC),
		Invoices: []activities.CaseFileInvoice{
			{Number: "F-1", IssueDate: "2026-09-01", DueDate: "2026-10-01", AmountMinor: 100000, OpenMinor: 100000},
			{Number: "-F-2", IssueDate: "2026-09-15", DueDate: "2026-10-15", AmountMinor: 60000, OpenMinor: 50050},
		}}
	body, err := caseFileCSV(f)
	require.NoError(t, err)
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 3)
	require.Equal(t, caseFileColumns, rows[0])
	col := func(row []string, name string) string {
		for i, c := range caseFileColumns {
			if c == name {
				return row[i]
			}
		}
		t.Fatalf("no column %s", name)
		return ""
	}
	require.Equal(t, "7", col(rows[1], "case_id"))
	require.Equal(t, "2026-11-30", col(rows[1], "as_of"))
	require.Equal(t, "'=HYPERLINK(\"http://evil\")", col(rows[1], "customer_name"))
	require.Equal(t, "'@Gent", col(rows[1], "city"))
	require.Equal(t, "1000.00", col(rows[1], "invoice_amount"))
	require.Equal(t, "'-F-2", col(rows[2], "invoice_number"))
	require.Equal(t, "500.50", col(rows[2], "invoice_open"))
	for _, r := range rows[1:] {
		require.Equal(t, "1500.50", col(r, "case_principal"))
		require.Equal(t, "12.34", col(r, "case_interest"))
		require.Equal(t, "225.08", col(r, "case_costs"))
		require.Equal(t, "0.00", col(r, "case_waived"))
		require.Equal(t, "1737.92", col(r, "case_total"))
	}
	require.Equal(t, "-12.50", csvSafe("-12.50"), "a negative amount is a number, not a formula")
}
