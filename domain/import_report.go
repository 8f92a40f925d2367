package domain

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ReportCSVHeader is the header of an import report written as CSV.
var ReportCSVHeader = []string{"record", "line", "invoice_number", "customer_ref", "outcome", "customer", "field", "value", "reason"}

// WriteReportCSV writes an import report as one CSV table, for a
// spreadsheet: the record column says what each line is — "count" (field
// names the count, value holds it), "column" (field fed by the column in
// value, reason says how it was recognised), "ignored_column", "row" (one
// per data row: its outcome and, on the customer's first row, what happened
// to the customer), "warning" and "rejected" (line, field, value, reason),
// "skipped_customer" and "note". Values that a spreadsheet would run as a
// formula are prefixed with a quote.
func WriteReportCSV(w io.Writer, rep ImportReport) error {
	cw := csv.NewWriter(w)
	rec := func(fields ...string) {
		for i := range fields {
			fields[i] = safeCell(fields[i])
		}
		_ = cw.Write(fields)
	}
	rec(ReportCSVHeader...)
	line := func(n int) string {
		if n <= 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	count := func(name string, n int) { rec("count", "", "", "", "", "", name, strconv.Itoa(n), "") }
	count("rows", rep.Rows)
	count("customers.created", rep.Customers.Created)
	count("customers.updated", rep.Customers.Updated)
	count("customers.unchanged", rep.Customers.Unchanged)
	count("customers.skipped", rep.Customers.Skipped)
	count("invoices.created", rep.Invoices.Created)
	count("invoices.updated", rep.Invoices.Updated)
	count("invoices.unchanged", rep.Invoices.Unchanged)
	count("invoices.rejected", rep.Invoices.Rejected)
	count("invoices.closed_absent", rep.Invoices.ClosedAbsent)
	count("invoices.kept_relance_payment", rep.Invoices.KeptRelancePayment)
	count("journeys_started", rep.JourneysStarted)
	if rep.DryRun {
		count("journeys_to_start", rep.JourneysToStart)
	}
	count("warnings", len(rep.Warnings))
	for _, c := range rep.Columns {
		rec("column", "", "", "", "", "", c.Field, c.Column, c.By)
	}
	for _, c := range rep.Ignored {
		reason := ""
		if c.DidYouMean != "" {
			reason = fmt.Sprintf("did you mean %s? (a column mapping can assign it)", c.DidYouMean)
		}
		rec("ignored_column", "", "", "", "", "", "", c.Column, reason)
	}
	for _, n := range rep.Notes {
		rec("note", "", "", "", "", "", "", "", n)
	}
	for _, l := range rep.Lines {
		rec("row", line(l.Line), l.InvoiceNumber, l.CustomerRef, string(l.Outcome), l.Customer, "", "", l.Note)
	}
	for _, e := range rep.Warnings {
		rec("warning", line(e.Line), "", "", "", "", e.Field, e.Value, e.Reason)
	}
	for _, e := range rep.Rejected {
		rec("rejected", line(e.Line), "", "", "", "", e.Field, e.Value, e.Reason)
	}
	for _, s := range rep.Skipped {
		rec("skipped_customer", line(s.Line), "", s.CustomerRef, "", "skipped", "", "", s.Reason)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write import report as CSV: %w", err)
	}
	return nil
}

// safeCell keeps a spreadsheet from reading a value from the imported file
// as a formula (CSV injection): such a value gets a leading quote.
func safeCell(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '+', '@', '\t', '\r':
		return "'" + v
	case '-':
		if len(v) == 1 || !strings.ContainsRune("0123456789.,", rune(v[1])) {
			return "'" + v
		}
	}
	return v
}
