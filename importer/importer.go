// Package importer parses and validates the customer and invoice files that
// companies export from their accounting software and import into Relance,
// again and again (docs/domain.md §1.3, §1.4).
//
// It is deliberately pure: bytes in, typed rows and a precise list of
// rejected rows out. It touches no database and starts no workflow; the
// caller applies [Result.Rows] and shows [Result.Rejected] to the admin.
//
// # Shape of the input
//
// CSV: a header row, then one invoice per row; each row also carries its
// customer (accounting exports are flat). See [Columns] for the column names
// and the aliases the accounting packages of the Netherlands, Belgium,
// France and Germany write. Header names are trimmed and matched
// case-insensitively, accents dropped and every run of spaces or
// punctuation read as one underscore, so "Date d'échéance", "E-mail" and
// "Reste à payer" are found as date_d_echeance, e_mail and reste_a_payer.
// Columns that feed no field are ignored and listed in [Result.Ignored];
// an administration's [Mapping] assigns names no package alias covers, and
// [Result.Columns] says which column fed which field. Only a missing
// required field, or two columns read as one field, fail the header.
// The separator (";", "," or tab) is detected from the header line, quotes
// respected; an Excel "sep=;" first line is honoured. Blank lines and lines
// of separators only are skipped, empty fields after the last column
// (trailing separators) are ignored, and Excel's ="00123" is read as 00123.
// A quoted field may hold separators and line breaks. UTF-8 with or without
// BOM and UTF-16 with BOM are read as is. Input that is not valid UTF-8 is
// decoded as Windows-1252 (a superset of the printable Latin-1 range, which
// is what Windows accounting packages write) unless it contains bytes that
// Windows-1252 does not define or also contains valid multi-byte UTF-8 (a
// corrupted or mixed file): then it is rejected, because guessing would
// corrupt names and addresses silently. NUL and other control bytes, and
// well-known binary signatures (PNG, PDF, ZIP/XLSX, XLS), are rejected with
// [ErrNotCSV]; so is a JSON document given to [ParseCSV].
//
// XLSX: an Excel workbook, read by [ParseXLSX] with the same columns.
//
// JSON: one object {"rows": [ {...}, ... ]} whose rows are flat objects with
// the same keys as the CSV columns. See [ParseJSON].
//
// # Amounts
//
// Amounts are converted to int64 minor units of their currency (scale from
// golang.org/x/text/currency: EUR 2, JPY 0, KWD 3) with integer arithmetic
// only. "1234.56", "1.234,56", "1,234.56", "1 234,56" (space, no-break or
// narrow no-break space), "1'234.56", "€ 12,50", "12,50 EUR" are read. A
// minus sign, a trailing minus ("12,50-") or parentheses mark a negative
// amount, which is rejected: credit notes are not imported as invoices.
//
// The decimal separator is decided per value when the value itself says it:
// when both "." and "," occur the last one is the decimal separator; a
// separator that occurs twice is a thousands separator; a single separator
// followed by other than exactly three digits, or preceded by "0" or by more
// than three digits, or in a value that also groups with spaces, is the
// decimal separator. What remains is a single "." or "," followed by exactly
// three digits, such as "1.234": that value is read with the convention the
// other amounts of the same file show (a file whose unambiguous amounts use a
// decimal comma reads "1.234" as 1234); when the file shows no convention, or
// both, the row is rejected as ambiguous rather than risk a factor of 1000.
// JSON numbers always use a decimal point. Decimals beyond the currency's
// scale are rejected unless they are zeros ("12,5000" is 12.50 EUR exactly).
//
// # Dates
//
// 2006-01-02, 2006/01/02, 20060102, 02-01-2006, 02/01/2006, 02.01.2006 and
// 2/1/2006, optionally followed by a time ("T15:04:05", " 15:04", with
// seconds fraction and zone) which is dropped: the date is taken as written.
// Day-first unless [Options.DateOrder] is "MDY". Years have four digits
// (a two-digit year is rejected, not guessed) and lie in 1900–2999.
//
// # Rows, errors and duplicates
//
// A problem with one row never stops the others: each problem becomes a
// [RowError] and the row is left out of [Result.Rows]. Bad contact data is
// not such a problem: an email that is not one, or a phone that cannot
// receive SMS, is a warning ([Result.Warnings]) and the row is kept. A row may carry
// several errors (one per column at fault), so an admin fixes the file in
// one go. Invoice numbers that occur on several rows reject all of those
// rows (the importer cannot know which one is right). A customer reference
// whose customer data (after normalisation and defaults; email compared
// without case) differs from the first row with valid data for it rejects
// the later rows; that first row is the reference even when it is rejected
// for another reason, such as its amount. Problems with the file as a whole (not text, bad header, too many
// rows, nothing in it) are returned as an error wrapping one of the Err
// values, with no rows at all: nothing is ever half-imported.
//
// The caller bounds the size of the input (the API answers 413 above its
// limit); the parser reads it whole, because encoding and decimal-separator
// detection need the whole file.
package importer

import (
	"errors"
	"fmt"
	"time"
)

// CustomerRow is the customer a row belongs to. Accounting exports are flat,
// so every invoice row repeats its customer; rows with the same Ref must
// agree (see [Result.Rejected]).
type CustomerRow struct {
	// Ref is the customer's reference in the accounting software (debtor
	// number), the key that links repeated imports to the same customer.
	Ref string
	// Name is the customer's name as printed on letters. Required.
	Name string
	// Email is a single bare address (no display name), or empty.
	Email string
	// Phone is kept as written; the channel layer parses it in Country.
	Phone string
	// AddressLine1 and AddressLine2 are the postal address lines.
	AddressLine1, AddressLine2 string
	// PostalCode and City complete the postal address.
	PostalCode, City string
	// Country is an ISO 3166-1 alpha-2 code, upper-cased and canonical ("UK"
	// becomes "GB"), or Options.DefaultCountry when the row has none.
	Country string
	// Language is nl, fr, en or de (the languages templates ship in), or
	// Options.DefaultLanguage when the row has none.
	Language string
	// LegalID is the company or VAT number (KvK, SIREN, BTW), as written.
	LegalID string
	// Type is business or consumer, or empty when the file does not say.
	Type string
	// ContactName, ContactEmail and ContactPhone are the customer's contact
	// person; ContactEmail is one bare address, or empty (then no contact
	// person is written).
	ContactName, ContactEmail, ContactPhone string
	// CCEmail is an address that receives the emails in copy, or empty.
	CCEmail string
}

// InvoiceRow is one open (or since paid) invoice of the customer.
type InvoiceRow struct {
	// Number is the invoice number, unique within a file. Required.
	Number string
	// IssueDate and DueDate are calendar dates at 00:00 UTC; DueDate is
	// never before IssueDate.
	IssueDate, DueDate time.Time
	// Currency is an ISO 4217 code, upper-cased.
	Currency string
	// AmountMinor is the invoice total in minor units of Currency (cents).
	AmountMinor int64
	// OpenMinor is what is still to be paid, 0 <= OpenMinor <= AmountMinor;
	// 0 means paid or credited, which ends the invoice's journey.
	OpenMinor int64
}

// Row is one valid data row.
type Row struct {
	// Line is the 1-based line of the row in the CSV file (the header is
	// line 1; a row whose quoted field spans lines has the line it starts
	// on), or the 1-based index of the row in the JSON "rows" array, so that
	// errors and results point at the same place the admin sees.
	Line     int
	Customer CustomerRow
	Invoice  InvoiceRow
	// Given is the set of fields the file gave for this row: its columns
	// (CSV, XLSX) or keys (JSON). A field not given must not overwrite what
	// is stored (an export without a language column keeps every customer's
	// language). Country and language count as given only when the cell is
	// not empty, since an empty one is filled with the administration's
	// default; an invalid email is not given (see [Result.Warnings]).
	Given FieldSet
}

// RowError is one problem with one row. A rejected row has at least one.
type RowError struct {
	// Line is as in [Row.Line].
	Line int
	// Field is the canonical column name at fault (see [Columns]), or empty
	// when the problem concerns the whole row (wrong number of fields).
	Field string
	// Value is the offending value as written, trimmed, and shortened to 100
	// characters so that a report stays readable.
	Value string
	// Reason says what is wrong, in words an admin can act on.
	Reason string
}

// Error formats the problem as "line 4: due_date "31/02/2026": invalid date",
// so a RowError can be logged or returned as an error.
func (e RowError) Error() string {
	switch {
	case e.Field == "":
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	case e.Value == "":
		return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Reason)
	default:
		return fmt.Sprintf("line %d: %s %q: %s", e.Line, e.Field, e.Value, e.Reason)
	}
}

// Result is what a parse returns when the file as a whole is readable.
type Result struct {
	// Rows are the valid rows, in file order.
	Rows []Row
	// Rejected lists every problem of every rejected row, sorted by line
	// (then by column, in the order of [Columns]).
	Rejected []RowError
	// Total is the number of data rows read, valid or not (blank lines are
	// not rows).
	Total int
	// Warnings are problems that do not reject their row: an email address
	// that is not one (the row is read without it) and a phone number that
	// cannot receive SMS. The customer is then chased by the channels that
	// remain. Sorted by line.
	Warnings []RowError
	// Ignored lists the columns (JSON keys) that feed no field, as written,
	// in file order: exports carry remarks, VAT, cost centres, ...
	Ignored []IgnoredColumn
	// Columns says which column fed which field, in the order of [Columns].
	Columns []ColumnUse
}

// Options configure a parse with the importing administration's settings.
type Options struct {
	// DefaultCurrency is the ISO 4217 code used for rows without a currency
	// (the administration's currency, e.g. EUR). When empty, every row must
	// name its currency: guessing one would misstate amounts.
	DefaultCurrency string
	// DefaultCountry (ISO alpha-2) and DefaultLanguage (nl, fr, en, de) fill
	// customers without one; empty leaves them empty.
	DefaultCountry, DefaultLanguage string
	// MaxRows is the most data rows a file may hold; 0 means 100000.
	MaxRows int
	// DateOrder says how to read dates like 02/01/2006: "DMY" (the default,
	// European accounting) or "MDY". Year-first dates are always YMD.
	DateOrder string
	// Mapping is the administration's column mapping, if any (see
	// [Mapping]); an invalid one fails the parse with [ErrMapping].
	Mapping Mapping
}

// DefaultMaxRows is the row limit when Options.MaxRows is 0.
const DefaultMaxRows = 100000

// File-level errors. The error returned by [ParseCSV] and [ParseJSON] wraps
// one of them (test with errors.Is) and says in its message what is wrong
// and where. A file-level error comes with no rows.
var (
	// ErrNotCSV means the input is not a CSV text file: binary bytes, an
	// undecodable encoding, a JSON document, or a quoted field that never
	// closes (the rest of the file cannot be split into rows).
	ErrNotCSV = errors.New("importer: not a CSV text file")
	// ErrNotJSON means the input is not a JSON document of the shape
	// {"rows": [...]}.
	ErrNotJSON = errors.New(`importer: not a JSON document of the form {"rows": [...]}`)
	// ErrHeader means a required column is missing, or two columns are
	// recognised as the same field. Unknown columns are not an error: they
	// are listed in [Result.Ignored].
	ErrHeader = errors.New("importer: invalid header")
	// ErrTooManyRows means the file holds more than Options.MaxRows rows.
	ErrTooManyRows = errors.New("importer: too many rows")
	// ErrEmpty means the file holds no data rows (empty, or a header only):
	// an empty export is far more often a mistake than an empty ledger.
	ErrEmpty = errors.New("importer: no data rows")
	// ErrOptions means the Options themselves are invalid (a programming or
	// configuration error, not the admin's file).
	ErrOptions = errors.New("importer: invalid options")
)

// settings are validated Options.
type settings struct {
	currency string // "" = none
	country  string
	language string
	maxRows  int
	mdy      bool
	mapping  compiled
}

func (o Options) settings() (settings, error) {
	s := settings{maxRows: o.MaxRows}
	var err error
	if s.maxRows == 0 {
		s.maxRows = DefaultMaxRows
	}
	if s.maxRows < 0 {
		return s, fmt.Errorf("%w: MaxRows %d is negative", ErrOptions, o.MaxRows)
	}
	if o.DefaultCurrency != "" {
		c, _, reason := parseCurrency(o.DefaultCurrency)
		if reason != "" {
			return s, fmt.Errorf("%w: DefaultCurrency %q: %s", ErrOptions, o.DefaultCurrency, reason)
		}
		s.currency = c
	}
	if o.DefaultCountry != "" {
		c, reason := parseCountry(o.DefaultCountry)
		if reason != "" {
			return s, fmt.Errorf("%w: DefaultCountry %q: %s", ErrOptions, o.DefaultCountry, reason)
		}
		s.country = c
	}
	if o.DefaultLanguage != "" {
		l, reason := parseLanguage(o.DefaultLanguage)
		if reason != "" {
			return s, fmt.Errorf("%w: DefaultLanguage %q: %s", ErrOptions, o.DefaultLanguage, reason)
		}
		s.language = l
	}
	if s.mapping, err = compileMapping(o.Mapping); err != nil {
		return s, err
	}
	switch o.DateOrder {
	case "", "DMY":
	case "MDY":
		s.mdy = true
	default:
		return s, fmt.Errorf("%w: DateOrder %q: want DMY or MDY", ErrOptions, o.DateOrder)
	}
	return s, nil
}
