package render

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// bundleData is a bundle of three invoices at different steps: no single
// invoice (Invoice nil), the bundled items with their step labels.
func bundleData(lang string) Data {
	d := fullData(lang)
	d.Invoice = nil
	d.CollectionCosts, d.Interest = nil, nil
	d.Items = []Item{
		{Number: "INV-2026-0042", IssueDate: day(2026, 10, 15), DueDate: day(2026, 11, 14), Amount: eur(125000), Open: eur(75000), DaysOverdue: 9,
			Step: StepLabel("reminder", lang)},
		{Number: "INV-2026-0031", IssueDate: day(2026, 9, 20), DueDate: day(2026, 10, 20), Amount: eur(113000), Open: eur(113000), DaysOverdue: 34,
			Step: StepLabel("final_reminder", lang)},
		{Number: "INV-2026-0038", IssueDate: day(2026, 10, 1), DueDate: day(2026, 10, 31), Amount: eur(40000), Open: eur(40000), DaysOverdue: 23,
			Step: StepLabel("reminder", lang)},
	}
	return d
}

func TestBundleDefaultsCoverage(t *testing.T) {
	want := map[string]bool{}
	for _, lang := range languages {
		for _, k := range []string{"reminder/email", "reminder/post", "final_reminder/email", "final_reminder/post", "sms/sms"} {
			want[k+"/"+lang] = true
		}
	}
	got := map[string]bool{}
	for _, tpl := range BundleDefaults() {
		key := tpl.Kind + "/" + tpl.Channel + "/" + tpl.Language
		require.False(t, got[key], "duplicate %s", key)
		got[key] = true
		d, ok := DefaultBundle(tpl.Kind, tpl.Channel, tpl.Language)
		require.True(t, ok, key)
		require.Equal(t, tpl, d)
	}
	require.Equal(t, want, got)

	en, ok := DefaultBundle("reminder", "email", "es")
	require.True(t, ok, "another language falls back to English")
	require.Equal(t, "en", en.Language)
	nl, ok := DefaultBundle("final_reminder", "post", "nl-BE")
	require.True(t, ok)
	require.Equal(t, "nl", nl.Language)
	for _, c := range []struct{ kind, channel string }{{"invoice", "email"}, {"collection", "post"}, {"statement", "sms"}, {"reminder", "sms"}, {"sms", "email"}} {
		_, ok := DefaultBundle(c.kind, c.channel, "en")
		require.False(t, ok, "%s by %s is never bundled", c.kind, c.channel)
	}
	BundleDefaults()[0].Body = "changed"
	require.NotEqual(t, "changed", BundleDefaults()[0].Body)
}

// TestBundleDefaultsRender renders every bundle text with a bundle's data:
// they print no tag of a single invoice (those would be empty), list the
// bundled items, and keep what the single-invoice texts must say.
func TestBundleDefaultsRender(t *testing.T) {
	single := []string{"#invoice_number", "#invoice_date", "#due_date", "#invoice_amount", "#open_amount", "#days_overdue"}
	bodies := map[string][]string{}
	for _, tpl := range BundleDefaults() {
		name := fmt.Sprintf("%s/%s/%s", tpl.Kind, tpl.Channel, tpl.Language)
		require.NoError(t, Validate(tpl.Subject), name)
		require.NoError(t, Validate(tpl.Body), name)
		for _, tag := range single {
			require.NotContains(t, tpl.Subject+tpl.Body, tag, name)
		}
		key := tpl.Kind + "/" + tpl.Channel
		require.NotContains(t, bodies[key], tpl.Body, "%s repeats another language", name)
		bodies[key] = append(bodies[key], tpl.Body)
		d := bundleData(tpl.Language)
		switch tpl.Channel {
		case "email":
			require.Contains(t, tpl.Body, "#items_list", name)
			require.Contains(t, tpl.Body, "#bank_details", name)
			require.Contains(t, tpl.Body, "#portal_link", name)
			e, err := RenderEmail(EmailTemplate{Subject: tpl.Subject, Body: tpl.Body}, d)
			require.NoError(t, err, name)
			require.Contains(t, e.Subject, "3", name)
			for _, it := range d.Items {
				require.Contains(t, e.Text, it.Number, name)
				require.Contains(t, e.HTML, it.Number, name)
			}
			require.Contains(t, e.Text, StepLabel("final_reminder", tpl.Language), name)
			require.Contains(t, e.HTML, allLabels[tpl.Language].step, name)
		case "post":
			l, err := RenderLetter(EmailTemplate{Subject: tpl.Subject, Body: tpl.Body}, d)
			require.NoError(t, err, name)
			require.Len(t, l.Items, 3, name)
			require.Equal(t, StepLabel("final_reminder", tpl.Language), l.Items[0].Step, "%s: by due date, with the step", name)
		case "sms":
			s, err := RenderSMS(tpl.Body, d)
			require.NoError(t, err, name)
			require.Contains(t, s.Text, "K7QM-4XTA", name)
			require.Contains(t, s.Text, "https://pay.example.com/portal", name)
			require.Equal(t, EncodingGSM7, s.Encoding, "%s: %q", name, s.Text)
			require.LessOrEqual(t, s.Segments, 2, name)
		}
		if tpl.Kind == "final_reminder" {
			require.Contains(t, tpl.Body, "#late_penalty_rate", name)
		}
	}
}

// TestBundleGolden renders every bundle text with a bundle's data, so that
// its wording and the items table with its step column show in review.
func TestBundleGolden(t *testing.T) {
	for _, tpl := range BundleDefaults() {
		name := fmt.Sprintf("bundle_%s_%s_%s", tpl.Kind, tpl.Channel, tpl.Language)
		t.Run(name, func(t *testing.T) {
			requireGolden(t, name, goldenRendering(t, tpl.Channel, tpl.Subject, tpl.Body, bundleData(tpl.Language)))
		})
	}
}

func TestStepLabel(t *testing.T) {
	cases := []struct{ kind, lang, want string }{
		{"reminder", "en", "Reminder"},
		{"final_reminder", "en", "Final reminder"},
		{"sms", "en", "Text reminder"},
		{"reminder", "nl", "Herinnering"},
		{"final_reminder", "nl-BE", "Laatste herinnering"},
		{"reminder", "fr", "Rappel"},
		{"final_reminder", "fr", "Dernier rappel"},
		{"reminder", "de", "Zahlungserinnerung"},
		{"final_reminder", "DE", "Letzte Mahnung"},
		{"reminder", "es", "Reminder"},
		{"invoice", "en", ""},
		{"collection", "fr", ""},
	}
	for _, c := range cases {
		require.Equal(t, c.want, StepLabel(c.kind, c.lang), "%s/%s", c.kind, c.lang)
	}
}

// TestItemsStepColumn: the step column shows when an item has a label, in
// the HTML and the text table; an ordinary list has none, and the one-line
// summary of an SMS or a subject is the same either way.
func TestItemsStepColumn(t *testing.T) {
	tpl := EmailTemplate{Subject: "#items_list", Body: "<p>#items_list</p>"}
	d := bundleData("en")
	e, err := RenderEmail(tpl, d)
	require.NoError(t, err)
	require.Contains(t, e.HTML, ">Reminder</th>")
	require.Contains(t, e.HTML, ">Final&nbsp;reminder</td>")
	lines := strings.Split(e.Text, "\n")
	require.True(t, strings.HasSuffix(lines[0], "Days overdue  Reminder"), "%q", lines[0])
	require.Contains(t, e.Text, "INV-2026-0031")
	var row string
	for _, l := range lines {
		if strings.HasPrefix(l, "INV-2026-0031") {
			row = l
		}
	}
	require.True(t, strings.HasSuffix(row, "34  Final reminder"), "%q", row)
	require.Equal(t, 3*7+4, strings.Count(itemsTable(e.HTML), "<td"), "7 cells a row, 4 in the total row")

	plain := bundleData("en")
	for i := range plain.Items {
		plain.Items[i].Step = ""
	}
	p, err := RenderEmail(tpl, plain)
	require.NoError(t, err)
	require.NotContains(t, p.HTML, ">Reminder</th>")
	require.NotContains(t, p.Text, "Reminder")
	require.Equal(t, 3*6+3, strings.Count(itemsTable(p.HTML), "<td"))
	require.Equal(t, p.Subject, e.Subject, "the one-line summary has no step")

	s1, err := RenderSMS("#items_list", d)
	require.NoError(t, err)
	s2, err := RenderSMS("#items_list", plain)
	require.NoError(t, err)
	require.Equal(t, s2.Text, s1.Text)
	require.Equal(t, "3 open items, total €2,280.00", s1.Text)
}

// itemsTable is the HTML of the items table of an email.
func itemsTable(html string) string {
	i := strings.Index(html, "<thead>")
	j := strings.Index(html, "</tfoot>")
	if i < 0 || j < i {
		return ""
	}
	return html[i:j]
}
