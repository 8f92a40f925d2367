package domain

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/relance/relance/importer"
	"github.com/relance/relance/models"
)

// Import file formats.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
	FormatXLSX = "xlsx"
)

// ParsedFile is an import file read and validated against its administration,
// with the fingerprint the import run records.
type ParsedFile struct {
	Result importer.Result
	Format string
	SHA256 string
}

// ParseFile reads an import file for adm: the administration's currency,
// country and language fill rows that name none, and mapping (its saved
// column mapping, or one given for this import; nil for none) says which
// column feeds which field. format is "csv", "json", "xlsx" or "" to tell
// them apart by the first bytes. A file-level problem (not CSV, not a
// workbook, wrong header, too many rows, empty, invalid mapping) is returned
// as an error wrapping the importer's Err values; rejected rows are in the
// Result.
func ParseFile(data []byte, format string, adm *models.Administration, mapping importer.Mapping) (ParsedFile, error) {
	sum := sha256.Sum256(data)
	out := ParsedFile{SHA256: hex.EncodeToString(sum[:]), Format: strings.ToLower(strings.TrimSpace(format))}
	if out.Format == "" {
		out.Format = sniffFormat(data)
	}
	opt := importer.Options{DefaultCurrency: adm.Currency, DefaultCountry: adm.Country, DefaultLanguage: adm.Language, Mapping: mapping}
	var err error
	switch out.Format {
	case FormatCSV:
		out.Result, err = importer.ParseCSV(bytes.NewReader(data), opt)
	case FormatJSON:
		out.Result, err = importer.ParseJSON(bytes.NewReader(data), opt)
	case FormatXLSX:
		out.Result, err = importer.ParseXLSX(bytes.NewReader(data), opt)
	default:
		return out, fmt.Errorf("%w: import format %q: use csv, json or xlsx", ErrFormat, format)
	}
	if err != nil {
		return out, fmt.Errorf("read %s import file: %w", out.Format, err)
	}
	return out, nil
}

// ReadLimited reads r whole, failing with ErrTooLarge beyond limit bytes.
func ReadLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read import file: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	return data, nil
}

// ErrTooLarge means an import file is over the configured limit.
var ErrTooLarge = errors.New("import file too large")

// ErrFormat means an unknown import format was asked for.
var ErrFormat = errors.New("unknown import format")

// sniffFormat says xlsx for a ZIP archive (what an .xlsx workbook is), json
// when the file starts (after a BOM and blanks) with "{", and csv otherwise:
// each parser rejects what it cannot read clearly.
func sniffFormat(data []byte) string {
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return FormatXLSX
	}
	s := strings.TrimLeft(strings.TrimPrefix(string(data[:min(len(data), 512)]), "\ufeff"), " \t\r\n")
	if strings.HasPrefix(s, "{") {
		return FormatJSON
	}
	return FormatCSV
}
