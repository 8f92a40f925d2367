package render

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEscaping(t *testing.T) {
	d := fullData("en")
	d.Customer.Name = `<script>alert("x")</script> & Co`
	tpl := EmailTemplate{Subject: "For #customer_name", Body: "<p>Dear <b>#customer_name</b>,</p>"}

	e, err := RenderEmail(tpl, d)
	require.NoError(t, err)
	require.NotContains(t, e.HTML, "<script>")
	require.Contains(t, e.HTML, "<strong>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co</strong>")
	require.Contains(t, e.HTML, "<title>For &lt;script&gt;")
	require.Equal(t, `Dear <script>alert("x")</script> & Co,`, e.Text)
	require.Equal(t, `For <script>alert("x")</script> & Co`, e.Subject)

	s, err := RenderSMS("Dear #customer_name", d)
	require.NoError(t, err)
	require.Equal(t, `Dear <script>alert("x")</script> & Co`, s.Text)

	l, err := RenderLetter(tpl, d)
	require.NoError(t, err)
	require.Equal(t, []string{`Dear <script>alert("x")</script> & Co,`}, l.Paragraphs)

	// Plain-text bodies are escaped as a whole: "<" and "&" are characters.
	e, err = RenderEmail(EmailTemplate{Subject: "x", Body: "1 < 2 & 3 > 2 #customer_name"}, d)
	require.NoError(t, err)
	require.Contains(t, e.HTML, "1 &lt; 2 &amp; 3 &gt; 2 &lt;script&gt;")
}

func TestSubjectIsOneLine(t *testing.T) {
	d := fullData("en")
	d.Customer.Name = "Acme\r\nBcc: victim@example.com"
	e, err := RenderEmail(EmailTemplate{Subject: "For #customer_name at\t#customer_address", Body: "x"}, d)
	require.NoError(t, err)
	require.Equal(t, "For Acme, Bcc: victim@example.com at 12 High Street, EC1A 1BB London, United Kingdom", e.Subject)
}

func TestItemsListEmail(t *testing.T) {
	d := fullData("nl")
	e, err := RenderEmail(EmailTemplate{Subject: "Overzicht: #items_list", Body: "<p>Uw posten: #items_list Graag betalen.</p>"}, d)
	require.NoError(t, err)
	require.Equal(t, "Overzicht: 3 openstaande posten, totaal € 2.130,00", e.Subject)

	// HTML: the paragraph is split around a real table, by due date.
	require.Contains(t, e.HTML, "Uw posten:</p>\n<table")
	require.Contains(t, e.HTML, "</table>\n<p style=\"margin:0 0 16px 0;\">Graag betalen.</p>")
	require.Contains(t, e.HTML, ">Factuur</th>")
	require.Contains(t, e.HTML, ">Vervaldatum</th>")
	tbody := e.HTML[strings.Index(e.HTML, "<tbody>"):strings.Index(e.HTML, "</tbody>")]
	require.Equal(t, 3, strings.Count(tbody, "<tr>"))
	i31, i42, i50 := strings.Index(e.HTML, "INV-2026-0031"), strings.Index(e.HTML, "INV-2026-0042"), strings.Index(e.HTML, "INV-2026-0050")
	require.True(t, 0 < i31 && i31 < i42 && i42 < i50)
	require.Contains(t, e.HTML, ">€&nbsp;1.130,00</td>")
	require.Contains(t, e.HTML, ">20-10-2026</td>")
	require.Contains(t, e.HTML, ">Totaal</td>")
	require.Contains(t, e.HTML, ">€&nbsp;2.130,00</td>")

	want := `Uw posten:

Factuur        Datum       Vervaldatum      Bedrag  Openstaand  Dagen te laat
-----------------------------------------------------------------------------
INV-2026-0031  20-09-2026  20-10-2026   € 1.130,00  € 1.130,00             34
INV-2026-0042  15-10-2026  14-11-2026   € 1.250,00    € 750,00              9
INV-2026-0050  01-11-2026  01-12-2026     € 250,00    € 250,00
-----------------------------------------------------------------------------
Totaal                                              € 2.130,00

Graag betalen.`
	require.Equal(t, want, e.Text)
}

func TestItemsListEmpty(t *testing.T) {
	d := fullData("de")
	d.Items = nil
	e, err := RenderEmail(EmailTemplate{Subject: "#items_list", Body: "#items_list"}, d)
	require.NoError(t, err)
	require.Equal(t, "0 offene Posten, Summe 0,00 €", e.Subject)
	require.Equal(t, "Keine offenen Posten.", e.Text)
	require.Contains(t, e.HTML, "<em>Keine offenen Posten.</em>")
	require.NotContains(t, e.HTML, "<thead>")
}

func TestPlainTextBody(t *testing.T) {
	d := fullData("en")
	body := "Dear #customer_name,\r\n\r\nFirst line\nsecond line   \n\n\n  \nPay at #portal_link\n"
	e, err := RenderEmail(EmailTemplate{Subject: "s", Body: body}, d)
	require.NoError(t, err)
	require.Equal(t, "Dear Acme Trading Ltd,\n\nFirst line\nsecond line\n\nPay at https://pay.example.com/p/8f3a2c", e.Text)
	require.Contains(t, e.HTML, `<p style="margin:0 0 16px 0;">Dear Acme Trading Ltd,</p>`)
	require.Contains(t, e.HTML, `<p style="margin:0 0 16px 0;">First line<br>second line</p>`)
	require.Contains(t, e.HTML, `Pay at <a href="https://pay.example.com/p/8f3a2c" style="color:#1A56DB;text-decoration:underline;">https://pay.example.com/p/8f3a2c</a></p>`)
}

func TestRichTextBody(t *testing.T) {
	d := fullData("en")
	body := `<div><p>Dear   <strong>#customer_name</strong>,<br/>
	please <em>pay</em> <u>now</u>.</p>
	<ul><li>Open: <b>#total_due</b></li><li>Overdue: #overdue_amount</li></ul>
	<ol><li>one</li><li>two<ol><li>nested</li></ol></li></ol>
	<p>Pay <a href="#portal_link">online</a> or write to <a href="mailto:#user_email">#user_email</a>.</p>
	<p><a href="javascript:alert(1)">bad link</a><script>alert(1)</script><style>p{}</style></p>
	<p onclick="x()" style="color:red" class="c">plain<img src="x.png"></p>
	<p>&nbsp;</p><p></p>
	</div>`
	e, err := RenderEmail(EmailTemplate{Subject: "s", Body: body}, d)
	require.NoError(t, err)

	require.Contains(t, e.HTML, `Dear <strong>Acme Trading Ltd</strong>,<br>please <em>pay</em> <u>now</u>.</p>`)
	require.Contains(t, e.HTML, "<ul style=")
	require.Contains(t, e.HTML, `>Open: <strong>€2,130.00</strong></li>`)
	require.Contains(t, e.HTML, `>Overdue: €1,880.00</li>`)
	require.Contains(t, e.HTML, "<ol style=")
	require.Contains(t, e.HTML, `<a href="https://pay.example.com/p/8f3a2c" style="color:#1A56DB;text-decoration:underline;">online</a>`)
	require.Contains(t, e.HTML, `<a href="mailto:jan.devries@northwind.example" style="color:#1A56DB;text-decoration:underline;">jan.devries@northwind.example</a>`)
	for _, s := range []string{"javascript", "<script", "alert", "onclick", "color:red", "class=", "<img", "x.png", "<style"} {
		require.NotContains(t, e.HTML, s)
	}
	require.Contains(t, e.HTML, ">bad link</p>")

	want := "Dear Acme Trading Ltd,\nplease pay now.\n\n" +
		"- Open: €2,130.00\n- Overdue: €1,880.00\n" +
		"1. one\n2. two\n  1. nested\n\n" +
		"Pay online (https://pay.example.com/p/8f3a2c) or write to jan.devries@northwind.example.\n\n" +
		"bad link\n\nplain"
	require.Equal(t, want, e.Text)
	require.Empty(t, knownTagInHTML(e.HTML))
	require.Empty(t, knownTagIn(e.Text))
}

func TestTagSplitByFormatting(t *testing.T) {
	d := fullData("en")
	e, err := RenderEmail(EmailTemplate{Subject: "s", Body: "<p><b>#</b>customer<i>_name</i>!</p>"}, d)
	require.NoError(t, err)
	require.Equal(t, "Acme Trading Ltd!", e.Text)
	require.Contains(t, e.HTML, "<strong>Acme Trading Ltd</strong>!")
}

func TestLogoAndLinks(t *testing.T) {
	d := fullData("en")
	e, err := RenderEmail(EmailTemplate{Subject: "s", Body: "<p>#company_logo</p><p>#company_website</p>"}, d)
	require.NoError(t, err)
	require.Contains(t, e.HTML, `<img src="https://northwind.example/logo.png" alt="Northwind Supplies BV"`)
	require.Contains(t, e.HTML, `<a href="https://northwind.example" style=`)
	require.Equal(t, "Northwind Supplies BV\n\nhttps://northwind.example", e.Text)

	// A logo or portal address that is not a web address is not linked.
	d.Company.LogoURL = "javascript:alert(1)"
	d.PortalLink = "javascript:alert(2)"
	e, err = RenderEmail(EmailTemplate{Subject: "s", Body: `<p>#company_logo #portal_link <a href="#portal_link">pay</a></p>`}, d)
	require.NoError(t, err)
	require.NotContains(t, e.HTML, "<img")
	require.NotContains(t, e.HTML, "<a ")
	require.Contains(t, e.HTML, "Northwind Supplies BV javascript:alert(2) pay</p>")
}

func BenchmarkRenderEmail(b *testing.B) {
	d := fullData("nl")
	for i := range 20 {
		d.Items = append(d.Items, Item{Number: "INV-" + strings.Repeat("9", i%5+1), IssueDate: day(2026, 9, 1+i),
			DueDate: day(2026, 10, 1+i), Amount: eur(int64(10000 * (i + 1))), Open: eur(int64(5000 * (i + 1))), DaysOverdue: 50 - i})
	}
	tpl, ok := Default("final_reminder", "email", "nl")
	require.True(b, ok)
	t := EmailTemplate{Subject: tpl.Subject, Body: tpl.Body}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RenderEmail(t, d); err != nil {
			b.Fatal(err)
		}
	}
}

func TestListEdgeCases(t *testing.T) {
	d := fullData("en")
	d.Items = d.Items[:1]
	body := "<ol><li><p>first</p><p>more of first</p></li><li>see #items_list below</li><li>third</li></ol>"
	e, err := RenderEmail(EmailTemplate{Subject: "s", Body: body}, d)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(e.Text, "1. first\n   more of first\n2. see\n\nInvoice"), e.Text)
	require.True(t, strings.HasSuffix(e.Text, "\n\n   below\n3. third"), e.Text)
	require.Contains(t, e.HTML, `<ol start="3" style=`)
	require.Contains(t, e.HTML, `list-style:none;">more of first</li>`)
}
