package importer

import (
	"fmt"
	"io"
	"strings"
)

// ParseCSV reads a CSV export: a header row naming the columns (see
// [Columns]), then one invoice per row. Row problems are reported in
// [Result.Rejected] and never stop the other rows; a problem with the file
// itself returns an error wrapping [ErrNotCSV], [ErrHeader],
// [ErrTooManyRows], [ErrEmpty] or [ErrOptions], and no rows. See the package
// documentation for encodings, separators, amounts and dates.
func ParseCSV(r io.Reader, opt Options) (Result, error) {
	set, err := opt.settings()
	if err != nil {
		return Result{}, err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return Result{}, fmt.Errorf("importer: reading the CSV file: %w", err)
	}
	text, err := decodeText(b, ErrNotCSV)
	if err != nil {
		return Result{}, err
	}
	trimmed := strings.TrimSpace(text)
	if trimmed == "" {
		return Result{}, fmt.Errorf("%w: the file is empty", ErrEmpty)
	}
	if trimmed[0] == '{' || trimmed[0] == '[' {
		return Result{}, fmt.Errorf("%w: the file looks like JSON; import it as JSON", ErrNotCSV)
	}

	sc := &scanner{s: text, line: 1}
	sc.sep = detectSeparator(sc, &set.mapping)
	var fields []string
	var hdr record
	for {
		var ok bool
		hdr, ok, err = sc.next(fields)
		if err != nil {
			return Result{}, err
		}
		if !ok {
			return Result{}, fmt.Errorf("%w: the file is empty", ErrEmpty)
		}
		if !hdr.blank() {
			break
		}
	}
	if hdr.bad >= 0 {
		return Result{}, fmt.Errorf("%w (line %d): text after a closing quote in column %d", ErrHeader, hdr.line, hdr.bad+1)
	}
	h, err := set.mapping.resolve(headerNames(hdr), hdr.line, "column")
	if err != nil {
		return Result{}, err
	}

	raws := make([]rawRow, 0, min(strings.Count(text[sc.pos:], "\n")+1, set.maxRows))
	for {
		rec, ok, err := sc.next(fields)
		if err != nil {
			return Result{}, err
		}
		if !ok {
			break
		}
		fields = rec.fields[:0]
		if rec.blank() {
			continue
		}
		if len(raws) == set.maxRows {
			return Result{}, fmt.Errorf("%w: more than %d data rows (line %d); split the file", ErrTooManyRows, set.maxRows, rec.line)
		}
		raws = append(raws, csvRow(rec, h.cols))
	}
	if len(raws) == 0 {
		return Result{}, fmt.Errorf("%w: the file has a header but no data rows", ErrEmpty)
	}
	return finish(set, raws, h), nil
}

// headerNames are the header cells, trimmed, without the empty cells after
// the last name (a trailing separator).
func headerNames(hdr record) []string {
	n := len(hdr.fields)
	for n > 0 && strings.TrimSpace(hdr.fields[n-1]) == "" {
		n--
	}
	out := make([]string, n)
	for i, f := range hdr.fields[:n] {
		out[i] = strings.TrimSpace(f)
	}
	return out
}

// csvRow turns a record into a raw row through the header's column map.
func csvRow(rec record, cols []colID) rawRow {
	raw := rawRow{line: rec.line}
	switch {
	case rec.bad >= 0:
		raw.broken = true
		field := ""
		if rec.bad < len(cols) && cols[rec.bad] != ignoredCol {
			field = columns[cols[rec.bad]].Name
		}
		raw.errs = append(raw.errs, RowError{Line: rec.line, Field: field, Value: shorten(rec.fields[rec.bad]), Reason: "text after a closing quote (quote the whole field and double the quotes inside it)"})
		return raw
	}
	// Empty fields after the last column are the trailing separators some
	// exports write; they are not data.
	fs := rec.fields
	for len(fs) > len(cols) && strings.TrimSpace(fs[len(fs)-1]) == "" {
		fs = fs[:len(fs)-1]
	}
	if len(fs) != len(cols) {
		raw.broken = true
		raw.errs = append(raw.errs, RowError{Line: rec.line, Reason: fmt.Sprintf("expected %d fields, found %d (check separators and quotes)", len(cols), len(fs))})
		return raw
	}
	for i, f := range fs {
		if c := cols[i]; c != ignoredCol {
			raw.vals[c] = cleanValue(f)
			raw.present.add(c)
		}
	}
	return raw
}

// cleanValue trims a field and unwraps Excel's ="00123", written to keep
// leading zeros.
func cleanValue(f string) string {
	v := strings.TrimSpace(f)
	if len(v) >= 3 && strings.HasPrefix(v, `="`) && strings.HasSuffix(v, `"`) {
		v = strings.TrimSpace(v[2 : len(v)-1])
	}
	return v
}

// maxProblems bounds the problems a file-level error lists, so a file that
// is not an export at all gets a short message.
const maxProblems = 10

// joinProblems lists the first maxProblems problems and counts the rest.
func joinProblems(problems []string) string {
	if len(problems) <= maxProblems {
		return strings.Join(problems, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(problems[:maxProblems], "; "), len(problems)-maxProblems)
}

// detectSeparator picks the separator from the header line: an Excel
// "sep=;" line wins (and is skipped); otherwise the candidate that splits
// the first non-blank line into the most known column names, then into the
// most fields. Quotes are respected.
func detectSeparator(sc *scanner, cm *compiled) byte {
	line := sc.s[sc.pos:]
	if i := strings.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	if l := strings.TrimSpace(line); len(l) == 5 && strings.EqualFold(l[:4], "sep=") && l[4] != '"' {
		sc.sep = l[4]
		if _, _, err := sc.next(nil); err == nil {
			return l[4]
		}
	}
	best, bestKnown, bestFields := byte(';'), -1, -1
	for _, sep := range []byte{';', ',', '\t'} {
		probe := scanner{s: sc.s, pos: sc.pos, line: sc.line, sep: sep}
		var rec record
		for {
			var ok bool
			var err error
			rec, ok, err = probe.next(nil)
			if err != nil || !ok || !rec.blank() {
				break
			}
		}
		known := 0
		for _, f := range rec.fields {
			if _, _, ok := cm.lookup(normalizeName(f)); ok {
				known++
			}
		}
		if known > bestKnown || (known == bestKnown && len(rec.fields) > bestFields) {
			best, bestKnown, bestFields = sep, known, len(rec.fields)
		}
	}
	return best
}

// record is one CSV record.
type record struct {
	line   int // line the record starts on
	fields []string
	bad    int // index of a field with text after its closing quote, or -1
}

// blank reports a record with nothing in it: an empty line, or a line of
// separators only (spreadsheets write those for empty rows).
func (r record) blank() bool {
	for _, f := range r.fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// scanner splits text into CSV records. It is written for this package
// instead of using encoding/csv so that a field with text after its
// closing quote costs only its own row, an unterminated quote is reported
// at the line where it opens, lone CR line ends are read, and line numbers
// are exact.
type scanner struct {
	s    string
	pos  int
	line int // line number at pos
	sep  byte
}

// next reads the next record into buf's storage. ok is false at the end of
// the input; err reports a quoted field that never closes.
func (sc *scanner) next(buf []string) (rec record, ok bool, err error) {
	if sc.pos >= len(sc.s) {
		return record{}, false, nil
	}
	rec = record{line: sc.line, fields: buf[:0], bad: -1}
	s := sc.s
	for {
		j := sc.pos
		for j < len(s) && (s[j] == ' ' || (s[j] == '\t' && sc.sep != '\t')) {
			j++
		}
		if j < len(s) && s[j] == '"' {
			startLine := sc.line
			val, end, lines, closed := quotedField(s, j)
			if !closed {
				return rec, false, fmt.Errorf("%w: line %d: a quoted field is never closed", ErrNotCSV, startLine)
			}
			sc.line += lines
			rec.fields = append(rec.fields, val)
			k := end
			for k < len(s) && (s[k] == ' ' || (s[k] == '\t' && sc.sep != '\t')) {
				k++
			}
			switch {
			case k >= len(s):
				sc.pos = k
				return rec, true, nil
			case s[k] == sc.sep:
				sc.pos = k + 1
				continue
			case s[k] == '\n' || s[k] == '\r':
				sc.pos = k
				sc.endLine()
				return rec, true, nil
			}
			// Text after the closing quote: drop the rest of the line.
			rec.bad = len(rec.fields) - 1
			for k < len(s) && s[k] != '\n' && s[k] != '\r' {
				k++
			}
			sc.pos = k
			sc.endLine()
			return rec, true, nil
		}
		k := sc.pos
		for k < len(s) && s[k] != sc.sep && s[k] != '\n' && s[k] != '\r' {
			k++
		}
		rec.fields = append(rec.fields, s[sc.pos:k])
		if k < len(s) && s[k] == sc.sep {
			sc.pos = k + 1
			continue
		}
		sc.pos = k
		sc.endLine()
		return rec, true, nil
	}
}

// endLine consumes a line end (CRLF, LF or CR) at pos, if any.
func (sc *scanner) endLine() {
	switch {
	case sc.pos >= len(sc.s):
		return
	case strings.HasPrefix(sc.s[sc.pos:], "\r\n"):
		sc.pos += 2
	case sc.s[sc.pos] == '\n' || sc.s[sc.pos] == '\r':
		sc.pos++
	default:
		return
	}
	sc.line++
}

// quotedField reads the quoted field whose opening quote is at s[start]. It
// returns the value (doubled quotes undone, CRLF inside read as LF), the
// index after the closing quote, and the number of line ends inside.
func quotedField(s string, start int) (val string, end, lines int, closed bool) {
	i := start + 1
	var b *strings.Builder
	from := i
	for {
		q := strings.IndexByte(s[i:], '"')
		if q < 0 {
			return "", len(s), 0, false
		}
		q += i
		seg := s[i:q]
		lines += countLineEnds(seg)
		if strings.IndexByte(seg, '\r') >= 0 {
			if b == nil {
				b = &strings.Builder{}
				b.WriteString(s[from:i])
			}
			seg = strings.ReplaceAll(seg, "\r\n", "\n")
			seg = strings.ReplaceAll(seg, "\r", "\n")
		}
		if q+1 < len(s) && s[q+1] == '"' {
			if b == nil {
				b = &strings.Builder{}
				b.WriteString(s[from:i])
			}
			b.WriteString(seg)
			b.WriteByte('"')
			i = q + 2
			continue
		}
		if b == nil {
			return s[from:q], q + 1, lines, true
		}
		b.WriteString(seg)
		return b.String(), q + 1, lines, true
	}
}

// countLineEnds counts CRLF, LF and lone CR line ends.
func countLineEnds(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\n':
			n++
		case '\r':
			if i+1 >= len(s) || s[i+1] != '\n' {
				n++
			}
		}
	}
	return n
}
