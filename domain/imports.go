package domain

import (
	"log/slog"
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
}

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
