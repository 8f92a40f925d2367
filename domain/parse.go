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
)

// ParsedFile is an import file read and validated against its administration,
// with the fingerprint the import run records.
type ParsedFile struct {
	Result importer.Result
	Format string
	SHA256 string
}

// ParseFile reads an import file for adm: the administration's currency,
// country and language fill rows that name none. format is "csv", "json" or
// "" to tell them apart by the first non-blank byte. A file-level problem
// (not CSV, wrong header, too many rows, empty) is returned as an error
// wrapping the importer's Err values; rejected rows are in the Result.
func ParseFile(data []byte, format string, adm *models.Administration) (ParsedFile, error) {
	sum := sha256.Sum256(data)
	out := ParsedFile{SHA256: hex.EncodeToString(sum[:]), Format: strings.ToLower(strings.TrimSpace(format))}
	if out.Format == "" {
		out.Format = sniffFormat(data)
	}
	opt := importer.Options{DefaultCurrency: adm.Currency, DefaultCountry: adm.Country, DefaultLanguage: adm.Language}
	var err error
	switch out.Format {
	case FormatCSV:
		out.Result, err = importer.ParseCSV(bytes.NewReader(data), opt)
	case FormatJSON:
		out.Result, err = importer.ParseJSON(bytes.NewReader(data), opt)
	default:
		return out, fmt.Errorf("import format %q: use csv or json", format)
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

// sniffFormat says json when the file starts (after a BOM and blanks) with
// "{" and csv otherwise: the CSV parser rejects anything else clearly.
func sniffFormat(data []byte) string {
	s := strings.TrimLeft(strings.TrimPrefix(string(data[:min(len(data), 512)]), "\ufeff"), " \t\r\n")
	if strings.HasPrefix(s, "{") {
		return FormatJSON
	}
	return FormatCSV
}
