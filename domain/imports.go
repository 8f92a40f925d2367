package domain

import (
	"log/slog"

	"github.com/relance/relance/importer"
)

// ReasonNoOpenInvoice is why an existing customer's data was not updated by
// an import: seed 001 updates customer data only for customers that have an
// open invoice at the time of the import.
const ReasonNoOpenInvoice = "customer has no open invoice"

// DefaultImportConcurrency is how many journey starts and signals an import
// has in flight at once: enough to keep the Temporal frontend busy while the
// database work of the next rows goes on.
const DefaultImportConcurrency = 32

// ImportOptions say how to apply a parsed file.
type ImportOptions struct {
	// FullSnapshot says the file lists every open invoice of the
	// administration: open invoices absent from it are marked paid.
	FullSnapshot bool
	// FileSHA256 and Format ("csv" or "json") are recorded with the run.
	FileSHA256, Format string
	// Progress, when set, is called as rows complete (their database work and
	// their journey start or signal), with the rows done and the total. Calls
	// are serialized but may come from several goroutines.
	Progress func(done, total int)
	// Concurrency bounds the journey starts and signals in flight; 0 means
	// DefaultImportConcurrency.
	Concurrency int
	// Logger receives the import's log lines; nil means slog.Default().
	Logger *slog.Logger
	// DryRun computes the whole report without writing anything: every
	// write happens in one transaction that is rolled back, no journey is
	// started or signalled (Temporal is not needed), and no run is stored.
	DryRun bool
}

// ImportReport is what an import did, row by row where it matters: the
// admin reads it to fix the file, and it is stored with the run.
type ImportReport struct {
	// ImportID is the stored run (models.ImportRun).
	ImportID     int64  `json:"import_id,omitempty"`
	Format       string `json:"format"`
	FileSHA256   string `json:"file_sha256,omitempty"`
	FullSnapshot bool   `json:"full_snapshot"`
	// Rows is the number of data rows in the file, valid or not.
	Rows      int                  `json:"rows"`
	Customers ImportCustomerCounts `json:"customers"`
	Invoices  ImportInvoiceCounts  `json:"invoices"`
	// JourneysStarted counts the journeys this import started.
	JourneysStarted int `json:"journeys_started"`
	// JourneysDeferred counts the journeys that could not be started
	// (Temporal down): their invoices are stored, and the reconciler starts
	// them once Temporal answers again.
	JourneysDeferred int `json:"journeys_deferred,omitempty"`
	// Rejected lists every problem of every rejected row (a row may have
	// several); rejected rows change nothing.
	Rejected []ImportRowError `json:"rejected"`
	// Skipped lists the customers whose data was not updated, with why.
	Skipped []ImportSkippedCustomer `json:"skipped"`
	// Notes explain decisions about the file as a whole.
	Notes []string `json:"notes,omitempty"`
	// DryRun says nothing was written: the counts say what an import of
	// the file would do now, JourneysToStart what it would start.
	DryRun          bool `json:"dry_run"`
	JourneysToStart int  `json:"journeys_to_start"`
	// Warnings are problems that did not reject their row: an email
	// address that is not one (the customer is chased without it, by letter
	// when an address is known), a phone that cannot receive SMS.
	Warnings []ImportRowError `json:"warnings"`
	// Ignored are the file's columns that feed no field.
	Ignored []importer.IgnoredColumn `json:"ignored_columns"`
	// Columns say which column fed which field, and how it was recognised
	// (its name, a name an accounting package writes, or the mapping).
	Columns []importer.ColumnUse `json:"columns"`
	// Lines are the outcome of every data row, in file order.
	Lines []ImportLine `json:"lines"`
}

// LineOutcome is what an import did with one row.
type LineOutcome string

// Row outcomes.
const (
	LineCreated   LineOutcome = "created"
	LineUpdated   LineOutcome = "updated"
	LineUnchanged LineOutcome = "unchanged"
	// LineKeptPayment: the file shows the invoice more open than Relance
	// does after a payment (or credit) recorded in Relance, and the file is
	// not newer than the last import: Relance's amounts were kept.
	LineKeptPayment LineOutcome = "kept_relance_payment"
	LineRejected    LineOutcome = "rejected"
)

// ImportLine is the outcome of one data row.
type ImportLine struct {
	Line          int    `json:"line"`
	InvoiceNumber string `json:"invoice_number,omitempty"`
	CustomerRef   string `json:"customer_ref,omitempty"`
	// Outcome is the invoice's.
	Outcome LineOutcome `json:"outcome"`
	// Customer is what the row did to its customer, on the customer's first
	// row only (created, updated, unchanged, skipped).
	Customer string `json:"customer,omitempty"`
	// Note says why, for rejected rows and kept payments.
	Note string `json:"note,omitempty"`
}

// NoteKeptPayment explains LineKeptPayment in the report.
const NoteKeptPayment = "a payment or credit recorded in Relance lowered the open amount; this file shows the same amounts as the previous import, so it is not newer and Relance's open amount was kept"

// ImportCustomerCounts counts customers (not rows: a customer's data comes
// on each of its invoice rows) by what the import did with them.
type ImportCustomerCounts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Skipped   int `json:"skipped"`
}

// ImportInvoiceCounts counts invoices by what the import did with them.
type ImportInvoiceCounts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	// Rejected counts rejected rows.
	Rejected int `json:"rejected"`
	// ClosedAbsent counts open invoices a full snapshot marked paid because
	// the file no longer lists them.
	ClosedAbsent int `json:"closed_absent"`
	// KeptRelancePayment counts invoices whose open amount recorded in
	// Relance won over an older file (see LineKeptPayment).
	KeptRelancePayment int `json:"kept_relance_payment"`
}

// ImportRowError is one problem with one rejected row (see importer.RowError).
type ImportRowError struct {
	Line   int    `json:"line"`
	Field  string `json:"field,omitempty"`
	Value  string `json:"value,omitempty"`
	Reason string `json:"reason"`
}

// ImportSkippedCustomer is a customer whose data in the file was not applied.
type ImportSkippedCustomer struct {
	// Line is the first row of the customer in the file.
	Line        int    `json:"line"`
	CustomerRef string `json:"customer_ref"`
	Reason      string `json:"reason"`
}
