package importer

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// binarySignatures are file types admins upload by mistake instead of a CSV
// export; naming them makes the error actionable.
var binarySignatures = []struct {
	magic string
	name  string
}{
	{"\x89PNG", "a PNG image"},
	{"\xff\xd8\xff", "a JPEG image"},
	{"%PDF-", "a PDF document"},
	{"PK\x03\x04", "a ZIP archive or an Excel .xlsx workbook (import it as xlsx)"},
	{"\xd0\xcf\x11\xe0", "an Excel .xls workbook (export it as CSV)"},
	{"\x1f\x8b", "a gzip archive"},
}

// decodeText turns the raw bytes of a text export into UTF-8 text without a
// BOM, or explains why they are not text. See the package documentation for
// the encoding choices.
func decodeText(b []byte, sentinel error) (string, error) {
	for _, sig := range binarySignatures {
		if bytes.HasPrefix(b, []byte(sig.magic)) {
			return "", fmt.Errorf("%w: the file is %s", sentinel, sig.name)
		}
	}
	switch {
	case bytes.HasPrefix(b, []byte("\xef\xbb\xbf")):
		b = b[3:]
	case bytes.HasPrefix(b, []byte("\xff\xfe")), bytes.HasPrefix(b, []byte("\xfe\xff")):
		// Excel's "Unicode text" export: UTF-16 with a BOM.
		dec := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
		out, err := dec.Bytes(b)
		if err != nil || !utf8.Valid(out) || bytes.ContainsRune(out, utf8.RuneError) {
			return "", fmt.Errorf("%w: invalid UTF-16 text", sentinel)
		}
		b = out
	}
	// DOS-era software ends text files with Ctrl-Z.
	b = bytes.TrimRight(b, "\x1a")

	if i := controlByte(b); i >= 0 {
		return "", fmt.Errorf("%w: binary data (byte 0x%02x on line %d)", sentinel, b[i], lineAt(b, i))
	}
	if utf8.Valid(b) {
		return string(b), nil
	}
	bad, multi := -1, false
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			if bad < 0 {
				bad = i
			}
		} else if size > 1 {
			multi = true
		}
		i += size
	}
	if multi {
		return "", fmt.Errorf("%w: invalid UTF-8 on line %d in a file that is otherwise UTF-8 (mixed or corrupted encoding)", sentinel, lineAt(b, bad))
	}
	for i, c := range b {
		switch c {
		case 0x81, 0x8d, 0x8f, 0x90, 0x9d: // undefined in Windows-1252
			return "", fmt.Errorf("%w: neither UTF-8 nor Windows-1252 (byte 0x%02x on line %d)", sentinel, c, lineAt(b, i))
		}
	}
	out, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return "", fmt.Errorf("%w: decoding Windows-1252: %w", sentinel, err)
	}
	return string(out), nil
}

// controlByte returns the index of the first byte that no text export
// contains (C0 controls other than tab, line feed, form feed and carriage
// return; DEL), or -1.
func controlByte(b []byte) int {
	for i, c := range b {
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') || c == 0x7f {
			return i
		}
	}
	return -1
}

// lineAt returns the 1-based line of byte offset i.
func lineAt(b []byte, i int) int {
	return bytes.Count(b[:i], []byte("\n")) + 1
}
