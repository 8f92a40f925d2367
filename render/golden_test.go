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
			d := fullData(tpl.Language)
			var got string
			switch tpl.Channel {
			case "email":
				e, err := RenderEmail(EmailTemplate{Subject: tpl.Subject, Body: tpl.Body}, d)
				require.NoError(t, err)
				got = "Subject: " + e.Subject + "\n\n--- text ---\n" + e.Text + "\n--- html ---\n" + e.HTML
			case "sms":
				s, err := RenderSMS(tpl.Body, d)
				require.NoError(t, err)
				got = fmt.Sprintf("%d segment(s), %s, %d characters\n\n%s\n", s.Segments, s.Encoding, len([]rune(s.Text)), s.Text)
			case "post":
				l, err := RenderLetter(EmailTemplate{Subject: tpl.Subject, Body: tpl.Body}, d)
				require.NoError(t, err)
				var b strings.Builder
				b.WriteString("Subject: " + l.Subject + "\n")
				for i := 0; i <= len(l.Paragraphs); i++ {
					if l.Items != nil && i == l.ItemsAt {
						b.WriteString("\n[items]\n")
						for _, it := range l.Items {
							fmt.Fprintf(&b, "%s | %s | %s | %s | %s\n", it.Number, FormatDate(it.IssueDate, tpl.Language),
								FormatDate(it.DueDate, tpl.Language), FormatMoney(it.Amount, tpl.Language), FormatMoney(it.Open, tpl.Language))
						}
					}
					if i < len(l.Paragraphs) {
						b.WriteString("\n" + l.Paragraphs[i] + "\n")
					}
				}
				got = b.String()
			default:
				t.Fatalf("no golden rendering for channel %q", tpl.Channel)
			}
			path := filepath.Join("testdata", "golden", name+".txt")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "no golden file: run go test ./render -run Golden -update and review it")
			require.Equal(t, string(want), got)
		})
	}
}
