package importer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
)

// ErrNotXLSX means the input is not an Excel .xlsx workbook (another
// format, a damaged or encrypted workbook), or the workbook has no sheet
// with data.
var ErrNotXLSX = errors.New("importer: not an Excel .xlsx workbook")

// xlsxUnzipLimit bounds what a workbook may unzip to: a few megabytes of
// export compress well, but a crafted archive (a "zip bomb") must not fill
// memory or disk.
const xlsxUnzipLimit = 512 << 20

// maxExcelSerial is the serial number of 9999-12-31, the last date Excel
// knows; a larger number in a date column is not a date serial (it may be
// 20260115 written as a number, read as a yyyymmdd text then).
const maxExcelSerial = 2958465

// ParseXLSX reads an Excel .xlsx export: the first sheet that holds data,
// whose header is its first row that names every required field (title
// rows above it, up to ten, are skipped), then one invoice per row, with
// the columns of [Columns] as for [ParseCSV]. Cells are read as stored, not
// as displayed: a number cell in an amount column is read with a decimal
// point (like a JSON number, so 1.234 is never taken for 1234) and a date
// cell (a serial number) as its calendar date; text cells are read like CSV
// fields. Row.Line is the sheet's row number. A file that is not a
// workbook, an encrypted one, or one without data returns an error
// wrapping [ErrNotXLSX] (or [ErrHeader], [ErrEmpty], [ErrTooManyRows]).
func ParseXLSX(r io.Reader, opt Options) (Result, error) {
	set, err := opt.settings()
	if err != nil {
		return Result{}, err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return Result{}, fmt.Errorf("importer: reading the workbook: %w", err)
	}
	switch {
	case len(bytes.TrimSpace(b)) == 0:
		return Result{}, fmt.Errorf("%w: the file is empty", ErrEmpty)
	case bytes.HasPrefix(b, []byte("\xd0\xcf\x11\xe0")):
		return Result{}, fmt.Errorf("%w: the file is an old Excel .xls workbook or an encrypted one; save it as .xlsx or CSV", ErrNotXLSX)
	case !bytes.HasPrefix(b, []byte("PK\x03\x04")):
		return Result{}, fmt.Errorf("%w: the file is not a ZIP-based workbook (is it a CSV file?)", ErrNotXLSX)
	}
	f, err := excelize.OpenReader(bytes.NewReader(b), excelize.Options{UnzipSizeLimit: xlsxUnzipLimit})
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrNotXLSX, err)
	}
	defer f.Close()
	date1904 := false
	if p, err := f.GetWorkbookProps(); err == nil && p.Date1904 != nil {
		date1904 = *p.Date1904
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return Result{}, fmt.Errorf("%w: the workbook has no sheet", ErrNotXLSX)
	}
	for _, sheet := range sheets {
		rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		if err != nil {
			return Result{}, fmt.Errorf("%w: sheet %q: %v", ErrNotXLSX, sheet, err)
		}
		hdrAt := headerRow(&set.mapping, rows)
		if hdrAt < 0 {
			continue // an empty sheet: try the next
		}
		return parseSheet(set, f, sheet, rows, hdrAt, date1904)
	}
	return Result{}, fmt.Errorf("%w: no sheet of the workbook holds data", ErrEmpty)
}

// maxTitleRows bounds the rows above the header that a workbook may have
// (a report title, the date of the export, a blank line).
const maxTitleRows = 10

// headerRow finds the header of a sheet: the first of its first non-blank
// rows in which every required field is found, else the first non-blank
// row (whose problems the header error then names); -1 for an empty sheet.
func headerRow(cm *compiled, rows [][]string) int {
	first, seen := -1, 0
	for i, row := range rows {
		if blankCells(row) {
			continue
		}
		if first < 0 {
			first = i
		}
		if _, err := cm.resolve(headerNames(record{fields: row}), i+1, "column"); err == nil {
			return i
		}
		if seen++; seen > maxTitleRows {
			break
		}
	}
	return first
}

func blankCells(row []string) bool {
	for _, c := range row {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// parseSheet reads one sheet whose header is rows[hdrAt].
func parseSheet(set settings, f *excelize.File, sheet string, rows [][]string, hdrAt int, date1904 bool) (Result, error) {
	h, err := set.mapping.resolve(headerNames(record{fields: rows[hdrAt]}), hdrAt+1, "column")
	if err != nil {
		return Result{}, err
	}
	var raws []rawRow
	for i := hdrAt + 1; i < len(rows); i++ {
		row := rows[i]
		if blankCells(row) {
			continue
		}
		line := i + 1
		if len(raws) == set.maxRows {
			return Result{}, fmt.Errorf("%w: more than %d data rows (row %d); split the file", ErrTooManyRows, set.maxRows, line)
		}
		raw := rawRow{line: line}
		for j, v := range row {
			if j >= len(h.cols) {
				if strings.TrimSpace(v) != "" && len(raw.errs) == 0 {
					raw.errs = append(raw.errs, RowError{Line: line, Value: shorten(strings.TrimSpace(v)),
						Reason: fmt.Sprintf("a value in column %d, which has no header", j+1)})
				}
				continue
			}
			c := h.cols[j]
			if c == ignoredCol {
				continue
			}
			raw.present.add(c)
			raw.vals[c] = cleanValue(v)
			if raw.vals[c] == "" {
				continue
			}
			switch c {
			case colAmount, colOpenAmount, colAmountMinor, colOpenAmountMinor, colIssueDate, colDueDate:
			default:
				continue
			}
			if !isNumberCell(f, sheet, j, line, raw.vals[c]) {
				continue
			}
			switch c {
			case colIssueDate, colDueDate:
				raw.vals[c] = serialDate(raw.vals[c], date1904)
			case colAmount, colOpenAmount:
				raw.num[c] = true
				raw.vals[c] = plainNumber(raw.vals[c])
			case colAmountMinor, colOpenAmountMinor:
				raw.vals[c] = plainNumber(raw.vals[c])
			}
		}
		// Columns the row does not reach (trailing empty cells are not
		// stored) are present but empty, as in a CSV row.
		for j := len(row); j < len(h.cols); j++ {
			if c := h.cols[j]; c != ignoredCol {
				raw.present.add(c)
			}
		}
		if len(raw.errs) > 0 {
			raw.broken = true
		}
		raws = append(raws, raw)
	}
	if len(raws) == 0 {
		return Result{}, fmt.Errorf("%w: sheet %q has a header but no data rows", ErrEmpty, sheet)
	}
	return finish(set, raws, h), nil
}

// isNumberCell reports whether the cell holds a number (not a text that
// looks like one): only then is it read as a raw number or a date serial.
func isNumberCell(f *excelize.File, sheet string, col, line int, v string) bool {
	if _, err := strconv.ParseFloat(v, 64); err != nil {
		return false
	}
	ref, err := excelize.CoordinatesToCellName(col+1, line)
	if err != nil {
		return false
	}
	t, err := f.GetCellType(sheet, ref)
	if err != nil {
		return false
	}
	return t == excelize.CellTypeNumber || t == excelize.CellTypeUnset
}

// serialDate turns an Excel date serial into 2006-01-02 (the time of day is
// dropped, as for text dates); a value that is not a plausible serial is
// left for the date parser, which explains what is wrong with it.
func serialDate(v string, date1904 bool) string {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || x < 1 || x > maxExcelSerial || math.IsNaN(x) {
		return v
	}
	t, err := excelize.ExcelDateToTime(x, date1904)
	if err != nil {
		return v
	}
	return t.Format(time.DateOnly)
}

// plainNumber writes a stored number with a decimal point and without an
// exponent ("1.2345E3" is 1234.5). A spreadsheet stores amounts as binary
// floating point, so a computed cell (=A2*1.21) may hold 121.00000000000001:
// the value is rounded to nine decimals, far below any currency's minor
// unit and far above the float's noise, so the amount parser then reads
// exactly what the cell shows, and still refuses a genuine third decimal.
func plainNumber(v string) string {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) || math.Abs(x) >= 1e15 {
		return v
	}
	return strconv.FormatFloat(math.Round(x*1e9)/1e9, 'f', -1, 64)
}
