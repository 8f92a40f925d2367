package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"
)

// ParseJSON reads a JSON import of exactly this shape:
//
//	{"rows": [
//	  {"invoice_number": "F2026-0042", "customer_ref": "D10023",
//	   "customer_name": "Bakkerij Janssens BV", "issue_date": "2026-01-15",
//	   "due_date": "2026-02-14", "amount": "1234.56", "currency": "EUR"},
//	  ...
//	]}
//
// Each row is a flat object whose keys are the CSV column names or their
// aliases (see [Columns]); one shape for both formats keeps one set of rules
// and one documentation. Values are strings or numbers; null is the same as
// an absent key. Amounts are strings read like CSV amounts ("1.234,56"),
// JSON numbers in major units (1234.56, always a decimal point, no
// exponent), or integers in minor units under amount_minor and
// open_amount_minor. Row.Line is the 1-based index in "rows".
//
// As for CSV, row problems land in [Result.Rejected]; an unknown key or a
// required key absent from every row is a file-level [ErrHeader], and
// malformed JSON or another shape is [ErrNotJSON].
func ParseJSON(r io.Reader, opt Options) (Result, error) {
	set, err := opt.settings()
	if err != nil {
		return Result{}, err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return Result{}, fmt.Errorf("importer: reading the JSON document: %w", err)
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(b)) == 0 {
		return Result{}, fmt.Errorf("%w: the document is empty", ErrEmpty)
	}
	if !utf8.Valid(b) {
		return Result{}, fmt.Errorf("%w: the document is not UTF-8 (JSON must be)", ErrNotJSON)
	}

	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	syntax := func(err error) error {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: the document ends too early", ErrNotJSON)
		}
		// A streaming decoder's offsets are relative to the value being
		// read; a whole-document check gives the absolute position.
		off := dec.InputOffset()
		var se *json.SyntaxError
		if errors.As(json.Unmarshal(b, new(json.RawMessage)), &se) {
			off, err = se.Offset-1, se
		}
		line, col := position(b, off)
		return fmt.Errorf("%w: line %d, column %d: %w", ErrNotJSON, line, col, err)
	}
	expect := func(want json.Delim, what string) error {
		t, err := dec.Token()
		if err != nil {
			return syntax(err)
		}
		if d, ok := t.(json.Delim); !ok || d != want {
			return fmt.Errorf("%w: expected %s, found %s", ErrNotJSON, what, describe(t))
		}
		return nil
	}

	if err := expect('{', `an object {"rows": [...]}`); err != nil {
		return Result{}, err
	}
	var raws []rawRow
	keys := &jsonKeys{cm: &set.mapping, seen: map[string]bool{}}
	sawRows := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return Result{}, syntax(err)
		}
		if key, _ := t.(string); key != "rows" || sawRows {
			return Result{}, fmt.Errorf(`%w: unexpected key %q at the top level (only "rows")`, ErrNotJSON, t)
		}
		sawRows = true
		if err := expect('[', `an array after "rows"`); err != nil {
			return Result{}, err
		}
		for dec.More() {
			var elem json.RawMessage
			if err := dec.Decode(&elem); err != nil {
				return Result{}, syntax(err)
			}
			if len(raws) == set.maxRows {
				return Result{}, fmt.Errorf("%w: more than %d rows; split the document", ErrTooManyRows, set.maxRows)
			}
			raws = append(raws, jsonRow(len(raws)+1, elem, keys))
		}
		if err := expect(']', "the end of the rows array"); err != nil {
			return Result{}, err
		}
	}
	if err := expect('}', "the end of the document"); err != nil {
		return Result{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return Result{}, fmt.Errorf("%w: data after the end of the document", ErrNotJSON)
	}
	if !sawRows {
		return Result{}, fmt.Errorf(`%w: missing "rows"`, ErrNotJSON)
	}

	var problems []string
	if len(raws) > 0 {
		for c, doc := range columns {
			if !doc.Required || keys.present.has(colID(c)) || (colID(c) == colAmount && keys.present.has(colAmountMinor)) {
				continue
			}
			if keys.cm.mapped[c] {
				problems = append(problems, fmt.Sprintf("required field %q is in no row: the column mapping reads it from key %q", doc.Name, keys.cm.raw[c]))
				continue
			}
			problems = append(problems, fmt.Sprintf("required key %q is in no row", doc.Name))
		}
	}
	if len(problems) > 0 {
		return Result{}, fmt.Errorf("%w: %s", ErrHeader, joinProblems(problems))
	}
	if len(raws) == 0 {
		return Result{}, fmt.Errorf("%w: \"rows\" is empty", ErrEmpty)
	}
	slices.SortStableFunc(keys.h.uses, func(a, b ColumnUse) int { return fieldOrder(a.Field) - fieldOrder(b.Field) })
	return finish(set, raws, keys.h), nil
}

// jsonKeys collects what the keys of all rows say: the first key read for
// each field, the keys ignored, the fields some row has.
type jsonKeys struct {
	cm      *compiled
	seen    map[string]bool
	h       header
	used    FieldSet
	present FieldSet
}

// jsonRow reads one element of "rows" (already known to be valid JSON).
func jsonRow(line int, elem json.RawMessage, keys *jsonKeys) rawRow {
	raw := rawRow{line: line}
	dec := json.NewDecoder(bytes.NewReader(elem))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		raw.broken = true
		raw.errs = append(raw.errs, RowError{Line: line, Reason: "row is not a JSON object"})
		return raw
	}
	var seen [numCols]string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		key, _ := t.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			break
		}
		c, by, ok := keys.cm.lookup(normalizeName(key))
		if !ok {
			if !keys.seen[key] {
				keys.seen[key] = true
				keys.h.ignore(key)
			}
			continue
		}
		keys.present.add(c)
		if !keys.used.has(c) {
			keys.used.add(c)
			keys.h.uses = append(keys.h.uses, ColumnUse{Field: columns[c].Name, Column: key, By: by})
		}
		field := columns[c].Name
		if seen[c] != "" {
			raw.errs = append(raw.errs, RowError{Line: line, Field: field, Reason: fmt.Sprintf("given twice (as %q and %q)", seen[c], key)})
			continue
		}
		seen[c] = key
		switch x := v.(type) {
		case nil: // the same as an absent key
		case string:
			raw.vals[c] = cleanValue(x)
			raw.present.add(c)
		case json.Number:
			raw.vals[c] = string(x)
			raw.num[c] = true
			raw.present.add(c)
		default:
			raw.errs = append(raw.errs, RowError{Line: line, Field: field, Reason: "must be a string or a number"})
		}
	}
	return raw
}

// describe names a JSON token for an error message.
func describe(t json.Token) string {
	switch x := t.(type) {
	case json.Delim:
		switch x {
		case '[':
			return `an array (wrap it as {"rows": [...]})`
		case '{':
			return "an object"
		}
		return fmt.Sprintf("%q", string(x))
	case string:
		return fmt.Sprintf("the string %q", shorten(x))
	case nil:
		return "null"
	default:
		return fmt.Sprintf("%v", x)
	}
}

// position converts a byte offset into a 1-based line and column.
func position(b []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(b)))
	before := b[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}
