package render

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// TestDefaultsGolden renders every shipped default (each kind and channel
// in nl, fr, en and de) with the same data and compares the result with
// testdata/golden, so that a change of a default's wording, of the
// renderer or of a money or date format shows in review as a diff of what
// customers read. Run `go test ./render -run Golden -update` to accept one.
func TestDefaultsGolden(t *testing.T) {
	for _, tpl := range Defaults() {
		name := fmt.Sprintf("%s_%s_%s", tpl.Kind, tpl.Channel, tpl.Language)
		t.Run(name, func(t *testing.T) {
			got := goldenRendering(t, tpl.Channel, tpl.Subject, tpl.Body, fullData(tpl.Language))
			requireGolden(t, name, got)
		})
	}
}

// requireGolden compares got with testdata/golden/<name>.txt (rewriting it
// first with -update).
func requireGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".txt")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "no golden file: run go test ./render -run Golden -update and review it")
	require.Equal(t, string(want), got)
}

// goldenRendering renders a template on one channel the way the golden
// files show it: the subject and both parts of an email, an SMS with its
// count, a letter's paragraphs with its items table in place.
func goldenRendering(t *testing.T, channel, subject, body string, d Data) string {
	t.Helper()
	lang := d.Language
	switch channel {
	case "email":
		e, err := RenderEmail(EmailTemplate{Subject: subject, Body: body}, d)
		require.NoError(t, err)
		return "Subject: " + e.Subject + "\n\n--- text ---\n" + e.Text + "\n--- html ---\n" + e.HTML
	case "sms":
		s, err := RenderSMS(body, d)
		require.NoError(t, err)
		return fmt.Sprintf("%d segment(s), %s, %d characters\n\n%s\n", s.Segments, s.Encoding, len([]rune(s.Text)), s.Text)
	case "post":
		l, err := RenderLetter(EmailTemplate{Subject: subject, Body: body}, d)
		require.NoError(t, err)
		var b strings.Builder
		b.WriteString("Subject: " + l.Subject + "\n")
		for i := 0; i <= len(l.Paragraphs); i++ {
			if l.Items != nil && i == l.ItemsAt {
				b.WriteString("\n[items]\n")
				for _, it := range l.Items {
					fmt.Fprintf(&b, "%s | %s | %s | %s | %s", it.Number, FormatDate(it.IssueDate, lang),
						FormatDate(it.DueDate, lang), FormatMoney(it.Amount, lang), FormatMoney(it.Open, lang))
					if it.Step != "" {
						b.WriteString(" | " + it.Step)
					}
					b.WriteString("\n")
				}
			}
			if i < len(l.Paragraphs) {
				b.WriteString("\n" + l.Paragraphs[i] + "\n")
			}
		}
		return b.String()
	}
	t.Fatalf("no golden rendering for channel %q", channel)
	return ""
}

// TestItemsListGolden renders #items_list over a mixed account — several
// invoices, two of them partly paid, a credit note and a partly used one
// (negative amounts), one not yet due — in the four languages on every
// channel that takes it (the table in an email's HTML and text and in a
// letter, the one-line summary in an SMS and a subject), so that the
// signs, the totals and the number formats of each language show in review.
func TestItemsListGolden(t *testing.T) {
	const subject = "#items_list"
	const body = "#customer_name,\n\n#items_list\n\n#total_due / #overdue_amount\n\n#portal_link"
	for _, lang := range languages {
		d := fullData(lang)
		d.Items = []Item{
			{Number: "INV-2026-0031", IssueDate: day(2026, 9, 20), DueDate: day(2026, 10, 20), Amount: eur(113000), Open: eur(113000), DaysOverdue: 34},
			{Number: "INV-2026-0042", IssueDate: day(2026, 10, 15), DueDate: day(2026, 11, 14), Amount: eur(125000), Open: eur(75000), DaysOverdue: 9},
			{Number: "CN-2026-0007", IssueDate: day(2026, 10, 30), DueDate: day(2026, 10, 30), Amount: eur(-20000), Open: eur(-20000)},
			{Number: "INV-2026-0047", IssueDate: day(2026, 10, 25), DueDate: day(2026, 11, 20), Amount: eur(9999), Open: eur(1), DaysOverdue: 3},
			{Number: "CN-2026-0009", IssueDate: day(2026, 11, 2), DueDate: day(2026, 11, 2), Amount: eur(-5050), Open: eur(-2525)},
			{Number: "INV-2026-0050", IssueDate: day(2026, 11, 1), DueDate: day(2026, 12, 1), Amount: eur(250000), Open: eur(250000)},
		}
		for _, ch := range []string{"email", "sms", "post"} {
			t.Run(ch+"_"+lang, func(t *testing.T) {
				requireGolden(t, "items_list_"+ch+"_"+lang, goldenRendering(t, ch, subject, body, d))
			})
		}
	}
}
