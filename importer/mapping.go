package importer

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrMapping means a column mapping is invalid: it names a field Relance
// does not know, maps two fields to one column, or leaves a required field
// without a column. It is a file-level error for [ParseCSV], [ParseJSON]
// and [ParseXLSX] (nothing is read) and the error of [CheckMapping].
var ErrMapping = errors.New("importer: invalid column mapping")

// Mapping says which column of a file feeds which field: canonical field
// name (see [Columns]) → column header (or JSON key) as the file writes it,
// compared like every header (case, accents, spaces and punctuation do not
// matter). An administration saves one when its accounting software writes
// names Relance does not recognise. A mapped field takes only its mapped
// column: another column that would be recognised for it by name is then
// ignored. An empty column for an optional field means "never read this
// field", so a column the software fills with something else cannot
// overwrite it; a required field cannot be left without a column.
type Mapping map[string]string

// Fields are the canonical field names, in the order of [Columns].
func Fields() []string {
	out := make([]string, len(columns))
	for i, c := range columns {
		out[i] = c.Name
	}
	return out
}

// MappingProblem is one thing wrong with a mapping: the field at fault (as
// the mapping spelt it) and why.
type MappingProblem struct {
	Field  string
	Reason string
	// Unknown is true when the field is not a field Relance knows (the API
	// answers 400 then; a known field mapped wrongly breaks a rule, 422).
	Unknown bool
}

// MappingError lists every problem of a mapping; it wraps [ErrMapping].
type MappingError struct {
	Problems []MappingProblem
}

func (e *MappingError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = fmt.Sprintf("%s: %s", p.Field, p.Reason)
	}
	return fmt.Sprintf("%v: %s", ErrMapping, joinProblems(parts))
}

// Unwrap makes errors.Is(err, ErrMapping) hold.
func (e *MappingError) Unwrap() error { return ErrMapping }

// CheckMapping validates a mapping on its own (before any file is seen):
// every key is a canonical field name, no required field is mapped to
// nothing, no two fields share a column, and columns are short plain text.
// It returns nil or a *MappingError.
func CheckMapping(m Mapping) error {
	_, err := compileMapping(m)
	return err
}

// compiled is a validated mapping: per field, the normalized column it
// reads (mapped[c] true), "" meaning never read.
type compiled struct {
	col    [numCols]string
	mapped [numCols]bool
	// raw keeps the column names as the mapping wrote them, for messages.
	raw [numCols]string
}

func compileMapping(m Mapping) (compiled, error) {
	var out compiled
	var problems []MappingProblem
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	byCol := map[string]string{}
	for _, field := range keys {
		column := strings.TrimSpace(m[field])
		c, ok := fieldByName(field)
		if !ok {
			p := MappingProblem{Field: field, Unknown: true, Reason: "unknown field; fields are " + strings.Join(Fields(), ", ")}
			if s := suggest(normalizeName(field)); s != "" {
				p.Reason = fmt.Sprintf("unknown field (did you mean %q?)", s)
			}
			problems = append(problems, p)
			continue
		}
		if out.mapped[c] {
			problems = append(problems, MappingProblem{Field: field, Reason: fmt.Sprintf("field %q is mapped twice", columns[c].Name)})
			continue
		}
		switch {
		case column == "" && columns[c].Required:
			problems = append(problems, MappingProblem{Field: field, Reason: "a required field cannot be left without a column"})
			continue
		case len([]rune(column)) > maxFieldLen:
			problems = append(problems, MappingProblem{Field: field, Reason: fmt.Sprintf("column name longer than %d characters", maxFieldLen)})
			continue
		case strings.ContainsFunc(column, isControl):
			problems = append(problems, MappingProblem{Field: field, Reason: "column name contains control characters"})
			continue
		}
		n := normalizeName(column)
		if column != "" && n == "" {
			problems = append(problems, MappingProblem{Field: field, Reason: fmt.Sprintf("column name %q has no letter or digit", column)})
			continue
		}
		if other, dup := byCol[n]; dup && n != "" {
			problems = append(problems, MappingProblem{Field: field, Reason: fmt.Sprintf("column %q is already mapped to %q", column, other)})
			continue
		}
		if n != "" {
			byCol[n] = columns[c].Name
		}
		out.col[c], out.mapped[c], out.raw[c] = n, true, column
	}
	if m := out.mapped; m[colAmount] && m[colAmountMinor] && out.col[colAmount] != "" && out.col[colAmountMinor] != "" {
		problems = append(problems, MappingProblem{Field: "amount_minor", Reason: reasonBothAmount})
	}
	if len(problems) > 0 {
		return out, &MappingError{Problems: problems}
	}
	return out, nil
}

// fieldByName finds a canonical field name (also written with other case or
// punctuation: "Open amount" is open_amount). Aliases are column names, not
// field names, and are not accepted here: a mapping says plainly what it
// maps.
func fieldByName(name string) (colID, bool) {
	if c, ok := canonical[name]; ok {
		return c, true
	}
	n := normalizeName(name)
	for i, c := range columns {
		if c.Name == n {
			return colID(i), true
		}
	}
	return 0, false
}

// canonical maps each canonical field name to its column.
var canonical = func() map[string]colID {
	m := make(map[string]colID, numCols)
	for i, c := range columns {
		m[c.Name] = colID(i)
	}
	return m
}()

// ColumnUse says which column of the file fed a field, and how it was
// recognised, for the import report.
type ColumnUse struct {
	// Field is the canonical field name.
	Field string `json:"field"`
	// Column is the header (or JSON key) as the file writes it.
	Column string `json:"column"`
	// By is "name" (the canonical name), "alias" (a name an accounting
	// package writes) or "mapping" (the administration's column mapping).
	By string `json:"by"`
}

// How a column was recognised.
const (
	ByName    = "name"
	ByAlias   = "alias"
	ByMapping = "mapping"
)

// FieldSet is a set of fields, the ones a row's file gave a value for.
type FieldSet uint32

// Has reports whether the field (canonical name) is in the set.
func (s FieldSet) Has(field string) bool {
	c, ok := fieldByName(field)
	return ok && s&(1<<c) != 0
}

func (s FieldSet) has(c colID) bool { return s&(1<<c) != 0 }

func (s *FieldSet) add(c colID) { *s |= 1 << c }

// header is what a header row (or the keys of JSON rows) says about the
// file: the field of each column, the columns ignored, and how each field
// was found.
type header struct {
	cols    []colID // per column; -1 = ignored
	ignored []IgnoredColumn
	uses    []ColumnUse
}

// IgnoredColumn is a column of the file that feeds no field.
type IgnoredColumn struct {
	// Column is the header (or JSON key) as written.
	Column string `json:"column"`
	// DidYouMean names the field whose name is close to the column's, when
	// the column may be a typo; a column mapping can then assign it.
	DidYouMean string `json:"did_you_mean,omitempty"`
}

// ignore records an ignored column, with a suggestion when close to a name.
func (h *header) ignore(name string) {
	ic := IgnoredColumn{Column: name}
	if n := normalizeName(name); n != "" {
		ic.DidYouMean = suggest(n)
	}
	h.ignored = append(h.ignored, ic)
}

// ignoredCol marks a column that feeds no field.
const ignoredCol colID = -1

// resolve maps header names to fields: the mapping first, then canonical
// names and aliases for fields the mapping does not name. A name that
// matches nothing, or a field the mapping already took, is ignored (and
// listed); two columns recognised for one field, or a required field found
// nowhere, are errors, because guessing which column is right would import
// wrong amounts or customers.
func (cm *compiled) resolve(names []string, line int, where string) (header, error) {
	h := header{cols: make([]colID, len(names))}
	var seen [numCols]string
	var problems []string
	for i, name := range names {
		h.cols[i] = ignoredCol
		n := normalizeName(name)
		if n == "" {
			if strings.TrimSpace(name) != "" {
				h.ignore(name)
			}
			continue
		}
		c, by, ok := cm.lookup(n)
		if !ok {
			h.ignore(name)
			continue
		}
		if seen[c] != "" {
			problems = append(problems, fmt.Sprintf("columns %q and %q both read as %q (save a column mapping to say which one to use)", shorten(seen[c]), shorten(name), columns[c].Name))
			continue
		}
		seen[c] = name
		h.cols[i] = c
		h.uses = append(h.uses, ColumnUse{Field: columns[c].Name, Column: name, By: by})
	}
	if seen[colAmount] != "" && seen[colAmountMinor] != "" {
		problems = append(problems, reasonBothAmount)
	}
	if seen[colOpenAmount] != "" && seen[colOpenAmountMinor] != "" {
		problems = append(problems, "give open_amount or open_amount_minor, not both")
	}
	for c, doc := range columns {
		if !doc.Required || seen[c] != "" || (colID(c) == colAmount && seen[colAmountMinor] != "") {
			continue
		}
		var p string
		switch {
		case cm.mapped[c]:
			p = fmt.Sprintf("missing required field %q: the column mapping reads it from %q, which this file does not have", doc.Name, cm.raw[c])
		default:
			p = fmt.Sprintf("missing required %s %q", where, doc.Name)
			if len(doc.Aliases) > 0 {
				p += fmt.Sprintf(" (or %s, ...; or save a column mapping)", strings.Join(doc.Aliases[:min(len(doc.Aliases), 5)], ", "))
			}
		}
		problems = append(problems, p)
	}
	if len(problems) > 0 {
		if line > 0 {
			return h, fmt.Errorf("%w (line %d): %s", ErrHeader, line, joinProblems(problems))
		}
		return h, fmt.Errorf("%w: %s", ErrHeader, joinProblems(problems))
	}
	slices.SortStableFunc(h.uses, func(a, b ColumnUse) int { return fieldOrder(a.Field) - fieldOrder(b.Field) })
	return h, nil
}

// lookup finds the field of a normalized column name.
func (cm *compiled) lookup(n string) (colID, string, bool) {
	for c := range numCols {
		if cm.mapped[c] && cm.col[c] == n && n != "" {
			return c, ByMapping, true
		}
	}
	c, ok := colByName[n]
	if !ok || cm.mapped[c] {
		// A mapped field reads only its mapped column.
		return 0, "", false
	}
	if n == columns[c].Name {
		return c, ByName, true
	}
	return c, ByAlias, true
}
