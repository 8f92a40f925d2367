package render

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTagsDocumented(t *testing.T) {
	name := regexp.MustCompile(`^#[a-z][a-z0-9_]*$`)
	seen := map[string]bool{}
	groups := map[string]int{}
	for _, tag := range Tags() {
		require.Regexp(t, name, tag.Name)
		require.False(t, seen[tag.Name], "duplicate %s", tag.Name)
		seen[tag.Name] = true
		require.Contains(t, []string{"customer", "document", "company"}, tag.Group, tag.Name)
		groups[tag.Group]++
		require.NotEmpty(t, tag.Description, tag.Name)
		require.NotEmpty(t, tag.Example, tag.Name)
		require.NoError(t, Validate(tag.Name))
	}
	require.Len(t, groups, 3)
	// The tags that docs/domain.md §1.9 names.
	for _, n := range []string{"#customer_name", "#customer_address", "#customer_legal_id", "#items_list",
		"#overdue_amount", "#total_due", "#invoice_number", "#due_date", "#days_overdue", "#company_name",
		"#company_logo", "#late_penalty_rate", "#bank_details", "#user_name", "#user_email", "#user_phone",
		"#portal_link", "#collection_costs", "#interest"} {
		require.True(t, seen[n], n)
	}
	// Tags returns a copy.
	Tags()[0].Name = "#changed"
	require.Equal(t, "#customer_name", Tags()[0].Name)
}

// TestEveryTagRenders checks that each tag has a value in every channel for
// a full Data, in every language.
func TestEveryTagRenders(t *testing.T) {
	for _, lang := range languages {
		d := fullData(lang)
		for _, tag := range Tags() {
			e, err := RenderEmail(EmailTemplate{Subject: tag.Name, Body: "<p>" + tag.Name + "</p>"}, d)
			require.NoError(t, err, tag.Name)
			require.NotEmpty(t, e.Subject, tag.Name)
			require.NotEmpty(t, e.Text, tag.Name)
			require.NotContains(t, e.HTML, tag.Name)
			require.Empty(t, knownTagInHTML(e.HTML), tag.Name)
			require.Empty(t, knownTagIn(e.Text+e.Subject), tag.Name)

			plain, err := RenderEmail(EmailTemplate{Subject: "x", Body: tag.Name}, d)
			require.NoError(t, err, tag.Name)
			require.Equal(t, e.Text, plain.Text, tag.Name)

			s, err := RenderSMS(tag.Name, d)
			require.NoError(t, err, tag.Name)
			require.NotEmpty(t, s.Text, tag.Name)
			require.NotContains(t, s.Text, "\n", tag.Name)

			l, err := RenderLetter(EmailTemplate{Subject: tag.Name, Body: tag.Name}, d)
			require.NoError(t, err, tag.Name)
			require.NotEmpty(t, l.Subject, tag.Name)
			if tag.Name == "#items_list" {
				require.Empty(t, l.Paragraphs)
				require.Len(t, l.Items, 3)
			} else {
				require.Len(t, l.Paragraphs, 1, tag.Name)
				require.NotEmpty(t, l.Paragraphs[0], tag.Name)
				require.Nil(t, l.Items)
			}
		}
	}
}

func TestTagValues(t *testing.T) {
	d := fullData("nl")
	body := "#invoice_number|#invoice_date|#due_date|#invoice_amount|#open_amount|#days_overdue|#items_count|" +
		"#overdue_amount|#total_due|#collection_costs|#interest|#total_claim|#today|#late_penalty_rate|#customer_address|#company_logo"
	s, err := RenderSMS(body, d)
	require.NoError(t, err)
	require.Equal(t, "INV-2026-0042|15-10-2026|14-11-2026|€ 1.250,00|€ 750,00|9|3|€ 1.880,00|€ 2.130,00|€ 40,00|€ 21,37|€ 1.941,37|23-11-2026|8%|"+
		"12 High Street, EC1A 1BB London, United Kingdom|Northwind Supplies BV", s.Text)

	// A statement is about no invoice: the invoice tags are empty, the rest works.
	d.Invoice = nil
	s, err = RenderSMS("[#invoice_number][#days_overdue][#open_amount] #total_due", d)
	require.NoError(t, err)
	require.Equal(t, "[][][] € 2.130,00", s.Text)

	// A negative days count (not yet due) shows 0.
	d.Invoice = &Item{DaysOverdue: -5}
	s, err = RenderSMS("#days_overdue", d)
	require.NoError(t, err)
	require.Equal(t, "0", s.Text)
}

func TestValidate(t *testing.T) {
	ok := []string{
		"",
		"Hello #customer_name, see #portal_link.",
		"invoice #123",
		"Invoice #123 and #1st",
		"a lone # here",
		"ends with #",
		"##",
		"#Hashtag and #FF0000 are not tags",
		"l&#x27;offre &#39; &#X41;",
		"#customer_name#invoice_number",
		"(#total_due)",
		"<p>Hello <b>#customer_name</b></p>",
		`<a href="#portal_link">pay</a>`,
		"<b>#</b>customer_name",
		"<p>5 < 6 & #today</p>",
	}
	for _, s := range ok {
		require.NoError(t, Validate(s), s)
	}

	bad := []struct{ text, tag string }{
		{"#foo", "#foo"},
		{"Dear #customer_name, #bar and #baz", "#bar"},
		{"#customer_names", "#customer_names"},
		{"#Customer_name is text, #customer_Name is #customer_", "#customer_"},
		{"price #a1", "#a1"},
		{"&#xyz;", "#xyz"},
		{"&#x;", "#x"},
		{`<a href="https://x.example/#nope">x</a>`, "#nope"},
		{`<p style="color:#fff">x</p>`, "#fff"},
		{"<b>#</b>nope", "#nope"},
		{"<p>#&#x6E;ope</p>", "#nope"},
	}
	for _, tt := range bad {
		err := Validate(tt.text)
		var ute *UnknownTagError
		require.True(t, errors.As(err, &ute), tt.text)
		require.Equal(t, tt.tag, ute.Tag, tt.text)
		require.Equal(t, `unknown tag "`+tt.tag+`"`, err.Error())
	}
}

func TestUnknownTagRefusedByRenderers(t *testing.T) {
	d := fullData("en")
	var ute *UnknownTagError
	_, err := RenderEmail(EmailTemplate{Subject: "Hi #nope", Body: "x"}, d)
	require.ErrorAs(t, err, &ute)
	require.Equal(t, "#nope", ute.Tag)
	_, err = RenderEmail(EmailTemplate{Subject: "Hi", Body: "<p>#customer_name #nope2</p>"}, d)
	require.ErrorAs(t, err, &ute)
	require.Equal(t, "#nope2", ute.Tag)
	_, err = RenderSMS("Pay #now", d)
	require.ErrorAs(t, err, &ute)
	require.Equal(t, "#now", ute.Tag)
	_, err = RenderLetter(EmailTemplate{Body: "Dear #customer,"}, d)
	require.ErrorAs(t, err, &ute)
	require.Equal(t, "#customer", ute.Tag)
}

func TestInvoiceNumberIsNotATag(t *testing.T) {
	d := fullData("en")
	e, err := RenderEmail(EmailTemplate{Subject: "About invoice #123", Body: "Invoice #123 is paid. #1 priority."}, d)
	require.NoError(t, err)
	require.Equal(t, "About invoice #123", e.Subject)
	require.Equal(t, "Invoice #123 is paid. #1 priority.", e.Text)
	require.Contains(t, e.HTML, "Invoice #123 is paid. #1 priority.")
}

func TestScanTags(t *testing.T) {
	var got []string
	s := "a #b_1 &#x41; #c#d x#e #F #9 #"
	scanTags(s, func(start, end int, name string) bool {
		require.Equal(t, "#"+name, s[start:end])
		got = append(got, name)
		return true
	})
	require.Equal(t, []string{"b_1", "c", "d", "e"}, got)
	require.Equal(t, "a, b, c", oneLine("a\n  b \r\n\nc"))
	require.Equal(t, "ab", strings.TrimSpace(oneLine("ab")))
}
