package letter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledongthuc/pdf"
	"github.com/stretchr/testify/require"

	"github.com/relance/relance/channels"
	"github.com/relance/relance/channels/letter"
)

const portalLink = "https://relance.example.test/portal/c/7f3a9e2b-1c2d"

func sampleLetter() channels.Letter {
	return channels.Letter{
		Key:      "invoice:3:F-2026-012/14/reminder/post",
		Language: "fr",
		Sender: channels.PostalAddress{Name: "Acme Comptabilité SAS", Lines: []string{"1 rue de la Paix"},
			PostalCode: "75002", City: "Paris", Country: "France"},
		SenderDetails: []string{"+33 1 23 45 67 89", "compta@acme.example", "IBAN FR76 3000 6000 0112 3456 7890 189"},
		Recipient: channels.PostalAddress{Name: "Bâtiment Łukasz Żółć SA", Lines: []string{"12 avenue Foch", "Bâtiment B"},
			PostalCode: "69006", City: "Lyon", Country: "France"},
		Date:       "15 janvier 2026",
		Subject:    "Rappel : facture F-2026-012",
		Paragraphs: []string{"Madame, Monsieur,", "Sauf erreur de notre part, la facture ci-dessous reste impayée.\nMerci de régulariser."},
		Items: []channels.LetterItem{
			{Number: "F-2026-012", IssueDate: "01/12/2025", DueDate: "31/12/2025", Amount: "1 234,56 €", Open: "1 000,00 €"},
			{Number: "F-2026-019", IssueDate: "05/12/2025", DueDate: "04/01/2026", Amount: "99,00 €", Open: "99,00 €"},
		},
		ItemsTotal:   "1 099,00 €",
		PortalLink:   portalLink,
		AskEmail:     true,
		AskEmailText: "Recevez désormais nos messages par e-mail : indiquez votre adresse sur votre page personnelle.",
	}
}

// line is a run of text the PDF draws at one position.
type line struct {
	Page       int
	Text       string
	X, Y, Size float64
}

// extract reads the PDF back with an independent parser and returns its
// text lines (PDF points, origin bottom-left) and the page size.
func extract(t *testing.T, doc []byte) (lines []line, width, height float64, pages int) {
	t.Helper()
	r, err := pdf.NewReader(bytes.NewReader(doc), int64(len(doc)))
	require.NoError(t, err)
	pages = r.NumPage()
	for i := 1; i <= pages; i++ {
		p := r.Page(i)
		box := p.V.Key("MediaBox")
		for v := p.V; box.Kind() == pdf.Null && v.Kind() != pdf.Null; v = v.Key("Parent") {
			box = v.Key("MediaBox")
		}
		require.Equal(t, 4, box.Len(), "page %d has a MediaBox", i)
		width, height = box.Index(2).Float64()-box.Index(0).Float64(), box.Index(3).Float64()-box.Index(1).Float64()
		var cur *line
		for _, tx := range p.Content().Text {
			if cur != nil && cur.X == tx.X && cur.Y == tx.Y && cur.Size == tx.FontSize {
				cur.Text += tx.S
				continue
			}
			lines = append(lines, line{Page: i, Text: tx.S, X: tx.X, Y: tx.Y, Size: tx.FontSize})
			cur = &lines[len(lines)-1]
		}
	}
	return lines, width, height, pages
}

// seen is how the extractor reports text: it decodes the identity
// ToUnicode range of the embedded font one byte short, so a code point above
// U+00FF comes back as its low byte (Ł U+0141 reads "A"). The PDF itself is
// right: hasUTF16 checks the true code units in the content stream.
func seen(s string) string {
	return strings.Map(func(r rune) rune {
		if r > 0xFF {
			return r & 0xFF
		}
		return r
	}, s)
}

// hasUTF16 reports whether the PDF draws s: the embedded font is addressed
// by Unicode code point (Identity-H, two bytes each) in uncompressed
// content streams.
func hasUTF16(doc []byte, s string) bool {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r>>8), byte(r))
	}
	return bytes.Contains(doc, b)
}

func find(lines []line, text string) (line, bool) {
	text = seen(text)
	for _, l := range lines {
		if strings.Contains(l.Text, text) {
			return l, true
		}
	}
	return line{}, false
}

func allText(lines []line) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.Text)
		b.WriteString("\n")
	}
	return b.String()
}

const mm = 72 / 25.4

func TestRenderPDF(t *testing.T) {
	l := sampleLetter()
	doc, err := letter.RenderPDF(l)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(doc, []byte("%PDF-")))
	lines, w, h, pages := extract(t, doc)
	require.Equal(t, 1, pages)
	require.InDelta(t, 210*mm, w, 1, "A4 width")
	require.InDelta(t, 297*mm, h, 1, "A4 height")
	text := allText(lines)

	// The recipient's address, line by line, inside the envelope window.
	// Coordinates are written with two decimals: allow half a point.
	winLeft, winRight := letter.WindowLeft*mm-0.5, (letter.WindowLeft+letter.WindowWidth)*mm
	winTop, winBottom := h-letter.WindowTop*mm, h-(letter.WindowTop+letter.WindowHeight)*mm
	var prevY = math.Inf(1)
	for _, want := range []string{"Bâtiment Łukasz Żółć SA", "12 avenue Foch", "Bâtiment B", "69006 Lyon", "France"} {
		// The first line with this text below the top of the window (the
		// letterhead may print the same country).
		var got line
		ok := false
		for _, l := range lines {
			if l.Text == seen(want) && l.Y < winTop+20 {
				got, ok = l, true
				break
			}
		}
		require.True(t, ok, "recipient line %q missing in:\n%s", want, text)
		require.Equal(t, seen(want), got.Text, "a recipient line is printed alone")
		require.True(t, hasUTF16(doc, want), "%q drawn with its own code points", want)
		require.GreaterOrEqual(t, got.X, winLeft, want)
		require.Less(t, got.X, winRight, want)
		require.Less(t, got.Y, winTop, "%q above the window", want)
		require.Greater(t, got.Y, winBottom, "%q below the window", want)
		require.Less(t, got.Y, prevY, "%q out of order", want)
		prevY = got.Y
	}
	// The return address in small print, also in the window, above the recipient.
	ret, ok := find(lines, "Acme Comptabilité SAS · 1 rue de la Paix · 75002 Paris")
	require.True(t, ok, text)
	require.Less(t, ret.Size, 8.0)
	require.Less(t, ret.Y, winTop)
	require.Greater(t, ret.Y, prevY)

	// Letterhead above the window: name, address, details.
	head, ok := find(lines, "Acme Comptabilité SAS")
	require.True(t, ok)
	require.Greater(t, head.Y, winTop, "letterhead ends before the window")
	for _, s := range []string{"+33 1 23 45 67 89", "compta@acme.example", "IBAN FR76 3000 6000 0112 3456 7890 189"} {
		d, ok := find(lines, s)
		require.True(t, ok, s)
		require.Greater(t, d.Y, winTop, s)
	}

	// Date, subject, body, below the window.
	for _, s := range []string{"15 janvier 2026", "Rappel : facture F-2026-012", "Madame, Monsieur,",
		"Sauf erreur de notre part, la facture ci-dessous reste impayée.", "Merci de régulariser."} {
		got, ok := find(lines, s)
		require.True(t, ok, "%q missing in:\n%s", s, text)
		require.Less(t, got.Y, winBottom, s)
	}
	// The open items with French headings, and their total.
	for _, s := range []string{"Facture", "Échéance", "Montant", "Solde dû", "F-2026-012", "31/12/2025", "1 234,56 €",
		"1 000,00 €", "F-2026-019", "04/01/2026", "99,00 €", "Total", "1 099,00 €"} {
		_, ok := find(lines, s)
		require.True(t, ok, "%q missing in:\n%s", s, text)
		require.True(t, hasUTF16(doc, s), s)
	}
	// The portal link in full, on one line, and the request for an email.
	link, ok := find(lines, portalLink)
	require.True(t, ok, text)
	require.Equal(t, portalLink, link.Text)
	_, ok = find(lines, "Votre espace client en ligne")
	require.True(t, ok)
	ask, ok := find(lines, "indiquez votre adresse")
	require.True(t, ok, text)
	require.Less(t, ask.Y, link.Y, "the request comes after the items and link")
	require.Equal(t, 2, strings.Count(text, portalLink), "the request repeats the link")
}

func TestRenderPDFWithoutEmailRequest(t *testing.T) {
	l := sampleLetter()
	l.AskEmail = false
	doc, err := letter.RenderPDF(l)
	require.NoError(t, err)
	lines, _, _, _ := extract(t, doc)
	text := allText(lines)
	require.NotContains(t, text, "indiquez votre adresse")
	require.Equal(t, 1, strings.Count(text, portalLink))
}

// TestRenderPDFBundleSteps: a bundle's items print their own step where
// the issue date goes, under the language's heading.
func TestRenderPDFBundleSteps(t *testing.T) {
	l := sampleLetter()
	l.Items[0].Step, l.Items[1].Step = "Dernier rappel", "Rappel"
	doc, err := letter.RenderPDF(l)
	require.NoError(t, err)
	lines, _, _, _ := extract(t, doc)
	text := allText(lines)
	for _, s := range []string{"Étape", "Dernier rappel", "Rappel", "F-2026-012", "F-2026-019"} {
		_, ok := find(lines, s)
		require.True(t, ok, "%q missing in:\n%s", s, text)
	}
	_, ok := find(lines, l.Items[0].IssueDate)
	require.False(t, ok, "the step replaces the issue date")
}

func TestRenderPDFLanguagesAndPages(t *testing.T) {
	l := sampleLetter()
	l.Language = "de-AT"
	l.Items = nil
	for i := 0; i < 60; i++ {
		l.Items = append(l.Items, channels.LetterItem{Number: fmt.Sprintf("R-%03d", i), IssueDate: "01.12.2025", DueDate: "31.12.2025",
			Amount: "10,00 €", Open: "10,00 €"})
	}
	doc, err := letter.RenderPDF(l)
	require.NoError(t, err)
	lines, _, _, pages := extract(t, doc)
	require.Greater(t, pages, 1, "60 items do not fit on one page")
	text := allText(lines)
	for _, s := range []string{"Rechnung", "Fällig am", "Offen", "Summe", "R-000", "R-059", "Ihr Kundenportal:", portalLink,
		fmt.Sprintf("1 / %d", pages), fmt.Sprintf("%d / %d", pages, pages)} {
		require.Contains(t, text, seen(s))
	}
	// Unknown languages fall back to English headings.
	l = sampleLetter()
	l.Language = "xx"
	doc, err = letter.RenderPDF(l)
	require.NoError(t, err)
	lines, _, _, _ = extract(t, doc)
	require.Contains(t, allText(lines), "Due date")
}

func pngLogo(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 20))
	for x := 0; x < 40; x++ {
		for y := 0; y < 20; y++ {
			img.Set(x, y, color.RGBA{R: 200, G: 30, B: 30, A: 255})
		}
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

func TestRenderPDFInput(t *testing.T) {
	l := sampleLetter()
	l.LogoPNG = pngLogo(t)
	doc, err := letter.RenderPDF(l)
	require.NoError(t, err)
	require.Contains(t, string(doc), "/Subtype /Image")
	lines, _, _, _ := extract(t, doc)
	_, ok := find(lines, "Acme Comptabilité SAS")
	require.True(t, ok)

	l.LogoPNG = []byte("GIF89a not a png")
	_, err = letter.RenderPDF(l)
	require.ErrorContains(t, err, "logo")
	l = sampleLetter()
	l.Recipient.Name = "  "
	_, err = letter.RenderPDF(l)
	require.ErrorContains(t, err, "recipient")
}

func TestFolderProvider(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "letters", "out")
	p := letter.FolderProvider{Dir: dir}
	l := sampleLetter()
	id, err := p.SendLetter(context.Background(), l)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, letter.FileName(l.Key)), id)
	doc, err := os.ReadFile(id)
	require.NoError(t, err)
	lines, _, _, _ := extract(t, doc)
	_, ok := find(lines, "Bâtiment Łukasz Żółć SA")
	require.True(t, ok)

	// A retry of the same key replaces the file: still one letter.
	l.Subject = "Rappel (renvoi)"
	id2, err := p.SendLetter(context.Background(), l)
	require.NoError(t, err)
	require.Equal(t, id, id2)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no second file and no partial file left")
	doc, err = os.ReadFile(id)
	require.NoError(t, err)
	lines, _, _, _ = extract(t, doc)
	_, ok = find(lines, "Rappel (renvoi)")
	require.True(t, ok)

	// Keys that sanitise alike still get their own files; names are safe.
	require.NotEqual(t, letter.FileName("a:b"), letter.FileName("a/b"))
	for _, k := range []string{"../../etc/passwd", "a/b\\c", strings.Repeat("é", 300)} {
		name := letter.FileName(k)
		require.Equal(t, filepath.Base(name), name, k)
		require.False(t, strings.HasPrefix(name, "."), k)
		require.LessOrEqual(t, len(name), 200)
	}

	_, err = p.SendLetter(context.Background(), channels.Letter{Recipient: l.Recipient})
	require.True(t, channels.IsPermanent(err), "an empty key is permanent: %v", err)
	bad := sampleLetter()
	bad.Recipient.Name = ""
	_, err = p.SendLetter(context.Background(), bad)
	require.True(t, channels.IsPermanent(err), "an unprintable letter is permanent: %v", err)
	// An unwritable folder is retryable (a full or unmounted disk heals).
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, err = letter.FolderProvider{Dir: filepath.Join(file, "sub")}.SendLetter(context.Background(), l)
	require.Error(t, err)
	require.False(t, channels.IsPermanent(err))
}

// printService is a loopback Lob-style letters endpoint that records and
// checks what it receives.
type printService struct {
	mu       sync.Mutex
	requests []printRequest
	answer   func(w http.ResponseWriter)
}

type printRequest struct {
	method, path, user, pass, idemKey, contentType string
	fields                                         map[string]string
	fileName, fileType                             string
	file                                           []byte
	err                                            error
}

func (s *printService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	pr := printRequest{method: r.Method, path: r.URL.Path, idemKey: r.Header.Get("Idempotency-Key"), fields: map[string]string{}}
	pr.user, pr.pass, _ = r.BasicAuth()
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	pr.contentType = mt
	if err == nil && mt == "multipart/form-data" {
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			part, perr := mr.NextPart()
			if perr == io.EOF {
				break
			}
			if perr != nil {
				pr.err = perr
				break
			}
			b, _ := io.ReadAll(part)
			if part.FormName() == "file" {
				pr.fileName, pr.fileType, pr.file = part.FileName(), part.Header.Get("Content-Type"), b
				continue
			}
			if _, dup := pr.fields[part.FormName()]; dup {
				pr.err = fmt.Errorf("field %s twice", part.FormName())
			}
			pr.fields[part.FormName()] = string(b)
		}
	}
	s.mu.Lock()
	s.requests = append(s.requests, pr)
	answer := s.answer
	s.mu.Unlock()
	if answer != nil {
		answer(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": "ltr_4868c3b754655f90", "description": pr.fields["description"]})
}

func (s *printService) all() []printRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]printRequest(nil), s.requests...)
}

func TestHTTPProviderWireFormat(t *testing.T) {
	svc := &printService{}
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	p := &letter.HTTPProvider{BaseURL: srv.URL + "/", APIKey: "test_key_123"}
	l := sampleLetter()
	id, err := p.SendLetter(context.Background(), l)
	require.NoError(t, err)
	require.Equal(t, "ltr_4868c3b754655f90", id)

	reqs := svc.all()
	require.Len(t, reqs, 1)
	r := reqs[0]
	require.NoError(t, r.err)
	require.Equal(t, http.MethodPost, r.method)
	require.Equal(t, "/v1/letters", r.path)
	require.Equal(t, "test_key_123", r.user)
	require.Empty(t, r.pass)
	require.Equal(t, l.Key, r.idemKey)
	require.Equal(t, "multipart/form-data", r.contentType)
	require.Equal(t, map[string]string{
		"description":           l.Key,
		"to[name]":              "Bâtiment Łukasz Żółć SA",
		"to[address_line1]":     "12 avenue Foch",
		"to[address_line2]":     "Bâtiment B",
		"to[address_city]":      "Lyon",
		"to[address_zip]":       "69006",
		"to[address_country]":   "France",
		"from[name]":            "Acme Comptabilité SAS",
		"from[address_line1]":   "1 rue de la Paix",
		"from[address_city]":    "Paris",
		"from[address_zip]":     "75002",
		"from[address_country]": "France",
		"color":                 "false",
		"double_sided":          "true",
		"address_placement":     "top_first_page",
		"use_type":              "operational",
	}, r.fields)
	require.Equal(t, "application/pdf", r.fileType)
	require.Equal(t, letter.FileName(l.Key), r.fileName)
	// The service gets the preview's document. (Not byte for byte: the PDF
	// library writes its font objects in map order and a creation date.)
	want, err := letter.RenderPDF(l)
	require.NoError(t, err)
	wantLines, _, _, _ := extract(t, want)
	gotLines, _, _, _ := extract(t, r.file)
	require.Equal(t, wantLines, gotLines)
	_, ok := find(gotLines, portalLink)
	require.True(t, ok)
}

func TestHTTPProviderErrors(t *testing.T) {
	reply := func(status int, body string) func(http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		}
	}
	cases := []struct {
		name      string
		answer    func(http.ResponseWriter)
		permanent bool
		reason    string
	}{
		{"500", reply(500, `{"error":{"message":"internal"}}`), false, "internal"},
		{"502", reply(502, `<html>bad gateway</html>`), false, "bad gateway"},
		{"503", reply(503, ``), false, "HTTP 503"},
		{"429", reply(429, `{"error":{"message":"rate limit exceeded","status_code":429}}`), false, "rate limit"},
		{"422 invalid address", reply(422, `{"error":{"message":"address_zip is not a valid postal code","status_code":422}}`), true,
			"address_zip is not a valid postal code"},
		{"401 bad key", reply(401, `{"error":{"message":"Your API key is not valid."}}`), true, "API key is not valid"},
		{"400 plain message", reply(400, `{"message":"file must be a PDF"}`), true, "file must be a PDF"},
		{"200 without id", reply(200, `{"object":"letter"}`), false, "no letter id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := &printService{answer: tc.answer}
			srv := httptest.NewServer(svc)
			t.Cleanup(srv.Close)
			_, err := (&letter.HTTPProvider{BaseURL: srv.URL, APIKey: "k"}).SendLetter(context.Background(), sampleLetter())
			require.Error(t, err)
			require.Equal(t, tc.permanent, channels.IsPermanent(err), "%v", err)
			require.ErrorContains(t, err, tc.reason)
			require.Len(t, svc.all(), 1)
		})
	}
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		svc := &printService{answer: func(http.ResponseWriter) { <-release }}
		srv := httptest.NewServer(svc)
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		_, err := (&letter.HTTPProvider{BaseURL: srv.URL, APIKey: "k", Timeout: 200 * time.Millisecond}).SendLetter(context.Background(), sampleLetter())
		require.Error(t, err)
		require.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
		require.False(t, channels.IsPermanent(err))
	})
	t.Run("bad letters are permanent and not sent", func(t *testing.T) {
		svc := &printService{}
		srv := httptest.NewServer(svc)
		t.Cleanup(srv.Close)
		p := &letter.HTTPProvider{BaseURL: srv.URL, APIKey: "k"}
		bad := sampleLetter()
		bad.Recipient.Name = ""
		_, err := p.SendLetter(context.Background(), bad)
		require.True(t, channels.IsPermanent(err))
		_, err = p.SendLetter(context.Background(), channels.Letter{Recipient: bad.Recipient})
		require.True(t, channels.IsPermanent(err))
		require.Empty(t, svc.all())
	})
}

// TestFileNamesAreStable guards the folder layout that print rooms rely on.
func TestFileNamesAreStable(t *testing.T) {
	names := []string{letter.FileName("invoice:3:F-1/0/reminder/post"), letter.FileName("invoice:3:F-1/7/reminder/post")}
	require.NotEqual(t, names[0], names[1])
	sort.Strings(names)
	require.True(t, strings.HasPrefix(names[0], "invoice_3_F-1_0_reminder_post-"))
	require.True(t, strings.HasSuffix(names[0], ".pdf"))
}
