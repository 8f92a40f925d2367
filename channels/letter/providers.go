package letter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/relance/relance/channels"
)

var (
	_ channels.LetterSender = FolderProvider{}
	_ channels.LetterSender = (*HTTPProvider)(nil)
)

// FolderProvider writes each letter as a PDF into Dir. It is the dev sink
// for letters and a production option for self-printing (see "Choosing a
// letter provider" above).
type FolderProvider struct {
	// Dir is created if missing.
	Dir string
}

// FileName returns the file name FolderProvider uses for a letter key: the
// key with every character outside [A-Za-z0-9._-] replaced by '_', cut to a
// safe length, followed by 8 hex digits of the key's SHA-256 so that two keys
// that sanitise alike ("a:b", "a/b") never share a file.
func FileName(key string) string {
	var b strings.Builder
	for _, r := range key {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := strings.TrimLeft(b.String(), ".")
	if len(name) > 150 {
		name = name[:150]
	}
	sum := sha256.Sum256([]byte(key))
	return name + "-" + hex.EncodeToString(sum[:4]) + ".pdf"
}

// SendLetter renders l and writes it to Dir/FileName(l.Key), replacing any
// earlier file for the same key (written to a temporary file and renamed, so
// a reader never sees half a PDF). The provider ID is the file's path.
func (p FolderProvider) SendLetter(ctx context.Context, l channels.Letter) (string, error) {
	if l.Key == "" {
		return "", channels.Permanent(errors.New("letter: letter key is empty"))
	}
	if p.Dir == "" {
		return "", errors.New("letter: folder provider: Dir is not configured")
	}
	pdf, err := RenderPDF(l)
	if err != nil {
		return "", channels.Permanent(err)
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("letter: write %s: %w", l.Key, err)
	}
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return "", fmt.Errorf("letter: create folder %s: %w", p.Dir, err)
	}
	final := filepath.Join(p.Dir, FileName(l.Key))
	tmp, err := os.CreateTemp(p.Dir, "."+filepath.Base(final)+".*.partial")
	if err != nil {
		return "", fmt.Errorf("letter: write %s: %w", final, err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(pdf); err != nil {
		tmp.Close()
		return "", fmt.Errorf("letter: write %s: %w", final, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("letter: write %s: %w", final, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("letter: write %s: %w", final, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", fmt.Errorf("letter: write %s: %w", final, err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", fmt.Errorf("letter: write %s: %w", final, err)
	}
	return final, nil
}

// DefaultHTTPTimeout bounds one call to the print-and-mail service when
// HTTPProvider.Timeout is zero (the upload carries a PDF).
const DefaultHTTPTimeout = 60 * time.Second

// HTTPProvider sends letters to a print-and-mail service through a Lob-style
// letters API (see the package documentation).
//
// The request is `POST {BaseURL}/v1/letters`, HTTP basic auth with APIKey as
// the user name, header `Idempotency-Key: <letter key>`, and a multipart form:
// `file` (the PDF), `to[...]` and `from[...]` addresses, `color=false`,
// `double_sided=true`, `address_placement=top_first_page` (the address is
// already printed in the envelope window, so no blank address page is
// added), `use_type=operational` and `description` (the key).
type HTTPProvider struct {
	// BaseURL is the service's root, e.g. "https://api.lob.com".
	BaseURL string
	// APIKey is sent as the basic-auth user name.
	APIKey string
	// HTTPClient defaults to a client without its own timeout (Timeout
	// applies per call).
	HTTPClient *http.Client
	// Timeout bounds one call; zero means DefaultHTTPTimeout.
	Timeout time.Duration
}

// SendLetter renders l, uploads it and returns the service's letter ID.
//
// A 4xx answer other than 429 (invalid address, bad key, validation error)
// is returned as channels.Permanent with the service's message; 429, 5xx,
// timeouts and network errors are retryable, which is safe because the
// service deduplicates on the Idempotency-Key.
func (p *HTTPProvider) SendLetter(ctx context.Context, l channels.Letter) (string, error) {
	if l.Key == "" {
		return "", channels.Permanent(errors.New("letter: letter key is empty"))
	}
	if p.BaseURL == "" {
		return "", errors.New("letter: HTTP provider: BaseURL is not configured")
	}
	pdf, err := RenderPDF(l)
	if err != nil {
		return "", channels.Permanent(err)
	}
	body, contentType, err := letterForm(l, pdf)
	if err != nil {
		return "", channels.Permanent(err)
	}

	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	endpoint := strings.TrimRight(p.BaseURL, "/") + "/v1/letters"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return "", channels.Permanent(fmt.Errorf("letter: build request to %s: %w", endpoint, err))
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Idempotency-Key", l.Key)
	req.SetBasicAuth(p.APIKey, "")

	client := p.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("letter: send %s to %s: %w", l.Key, endpoint, err)
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("letter: read answer for %s from %s: %w", l.Key, endpoint, err)
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := fmt.Errorf("letter: %s refused %s: HTTP %d: %s", endpoint, l.Key, resp.StatusCode, errorMessage(respBody))
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			return "", channels.Permanent(err)
		}
		return "", err
	}
	var created struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(respBody, &created); err != nil || created.ID == "" {
		// The letter may exist; the retry is answered from the
		// idempotency key with the same letter.
		return "", fmt.Errorf("letter: %s accepted %s but answered no letter id (HTTP %d): %.200q", endpoint, l.Key, resp.StatusCode, respBody)
	}
	return created.ID, nil
}

// letterForm builds the multipart body of a letter request.
func letterForm(l channels.Letter, pdf []byte) ([]byte, string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fields := [][2]string{{"description", truncate(l.Key, 255)}}
	fields = append(fields, addressFields("to", l.Recipient)...)
	if l.Sender.Name != "" {
		fields = append(fields, addressFields("from", l.Sender)...)
	}
	fields = append(fields,
		[2]string{"color", "false"},
		[2]string{"double_sided", "true"},
		[2]string{"address_placement", "top_first_page"},
		[2]string{"use_type", "operational"},
	)
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			return nil, "", fmt.Errorf("letter: build form for %s: %w", l.Key, err)
		}
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, FileName(l.Key)))
	h.Set("Content-Type", "application/pdf")
	part, err := w.CreatePart(h)
	if err != nil {
		return nil, "", fmt.Errorf("letter: build form for %s: %w", l.Key, err)
	}
	if _, err := part.Write(pdf); err != nil {
		return nil, "", fmt.Errorf("letter: build form for %s: %w", l.Key, err)
	}
	if err := w.Close(); err != nil {
		return nil, "", fmt.Errorf("letter: build form for %s: %w", l.Key, err)
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

// addressFields maps a to Lob's address fields: two street lines (any
// further lines join the second), zip, city and country.
func addressFields(prefix string, a channels.PostalAddress) [][2]string {
	var lines []string
	for _, s := range a.Lines {
		if s = strings.TrimSpace(s); s != "" {
			lines = append(lines, s)
		}
	}
	fields := [][2]string{{prefix + "[name]", a.Name}}
	if len(lines) > 0 {
		fields = append(fields, [2]string{prefix + "[address_line1]", lines[0]})
	}
	if len(lines) > 1 {
		fields = append(fields, [2]string{prefix + "[address_line2]", strings.Join(lines[1:], ", ")})
	}
	return append(fields,
		[2]string{prefix + "[address_city]", a.City},
		[2]string{prefix + "[address_zip]", a.PostalCode},
		[2]string{prefix + "[address_country]", a.Country},
	)
}

// errorMessage extracts the message of a Lob-style error body
// ({"error":{"message":…}}), or returns the start of the body.
func errorMessage(body []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil {
		if e.Error.Message != "" {
			return e.Error.Message
		}
		if e.Message != "" {
			return e.Message
		}
	}
	return truncate(strings.TrimSpace(string(body)), 300)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
