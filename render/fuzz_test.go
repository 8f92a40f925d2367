package render

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var (
	tagName = regexp.MustCompile(`^#[a-z][a-z0-9_]*$`)
	// unsafeHref is a link or image to anything but the web, mail or phone.
	unsafeHref = regexp.MustCompile(`(?i)(href|src)="(?:[^hmt]|h[^t]|m[^a]|t[^e])`)
)

// fuzzSeeds are texts that exercise the tag lexer and the HTML reader.
var fuzzSeeds = []string{
	"",
	"#",
	"##",
	"invoice #123",
	"Dear #customer_name,\n\n#items_list\n\nPay: #portal_link",
	"#customer_name#invoice_number",
	"#foo",
	"&#x27; &#39; &#x23;customer_name &#35;customer_name &amp;#x23;foo",
	"<p>Hello <b>#customer_name</b>, <a href=\"#portal_link\">pay</a></p>",
	"<b>#</b>customer_name <i>#cust</i>omer_name",
	"<ul><li>a #items_list b</li><li><ol><li>#total_due</ol></ul>",
	"<p style=\"color:#FF0000\">x</p><script>#foo</script><!-- #bar -->",
	"<a href=\"javascript:#portal_link\">x</a><a href='mailto:#user_email'>m</a>",
	"<p>#company_logo #company_website <a href=\"#company_website\">#company_website</a></p>",
	"<p><b><i><u>#overdue_amount</b></i></u></p></p></li></ul><br/><br>",
	"\r\n\r\n#customer_address\r\n#bank_details\t#today\x00#\xff",
	"<p>&lt;#customer_name&gt; &nbsp; &#x;&#xZZ;</p>",
	"<p><span style=\"color: #C00000\">red <b>#total_due</b></span> <font color=\"#0A0\">green</font></p>",
	"<span style=\"color:rgb(300,0,0);color:#ABC\"><span style=\"color: expression(alert(1))\">x</span></span></span><font color=\"red\">y",
	"<p style='color:#00F;background:url(javascript:x)'>a<a href=\"#portal_link\" style=\"color:#FFF\">b</a></p>",
}

// colourSpan is the one span the renderer writes: a text colour, always
// #RRGGBB.
var (
	anySpan    = regexp.MustCompile(`<span[^>]*>`)
	colourSpan = regexp.MustCompile(`^<span style="color:#[0-9A-F]{6};">$`)
)

// FuzzValidate checks that Validate never panics, names a well-formed
// unknown tag when it refuses, and that a text it accepts renders in every
// channel (so that an accepted template never fails at sending time).
func FuzzValidate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	for _, tpl := range Defaults() {
		f.Add(tpl.Body)
	}
	d := fullData("en")
	f.Fuzz(func(t *testing.T, s string) {
		err := Validate(s)
		if err != nil {
			var ute *UnknownTagError
			require.True(t, errors.As(err, &ute), "%v", err)
			require.Regexp(t, tagName, ute.Tag)
			require.Nil(t, tagIndex[ute.Tag[1:]], ute.Tag)
			_, err = RenderEmail(EmailTemplate{Subject: "x", Body: s}, d)
			require.ErrorAs(t, err, &ute)
			return
		}
		scanTags(s, func(_, _ int, name string) bool {
			require.NotNil(t, tagIndex[name], name)
			return true
		})
		_, err = RenderEmail(EmailTemplate{Subject: s, Body: s}, d)
		require.NoError(t, err)
		_, err = RenderSMS(s, d)
		require.NoError(t, err)
		_, err = RenderLetter(EmailTemplate{Subject: s, Body: s}, d)
		require.NoError(t, err)
	})
}

// FuzzRenderEmail checks that rendering never panics, refuses only with
// an *UnknownTagError, and never leaves a known tag in what it sends.
func FuzzRenderEmail(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add("Subject #customer_name", s, uint8(0))
	}
	for i, tpl := range Defaults() {
		f.Add(tpl.Subject, tpl.Body, uint8(i))
	}
	f.Fuzz(func(t *testing.T, subject, body string, lang uint8) {
		d := fullData(languages[int(lang)%len(languages)])
		e, err := RenderEmail(EmailTemplate{Subject: subject, Body: body}, d)
		if err != nil {
			var ute *UnknownTagError
			require.ErrorAs(t, err, &ute)
			return
		}
		require.Empty(t, knownTagIn(e.Subject), "subject %q", e.Subject)
		require.Empty(t, knownTagIn(e.Text), "text %q", e.Text)
		require.Empty(t, knownTagInHTML(e.HTML), "html %q", e.HTML)
		require.NotContains(t, e.Subject, "\n")
		require.NotContains(t, strings.ToLower(e.HTML), "<script")
		require.NotRegexp(t, unsafeHref, e.HTML)
		require.True(t, strings.HasPrefix(e.HTML, "<!DOCTYPE html>"))
		for _, sp := range anySpan.FindAllString(e.HTML, -1) {
			require.Regexp(t, colourSpan, sp, "html %q", e.HTML)
		}

		l, err := RenderLetter(EmailTemplate{Subject: subject, Body: body}, d)
		require.NoError(t, err)
		require.Empty(t, knownTagIn(l.Subject+strings.Join(l.Paragraphs, "\n")))
		require.True(t, l.ItemsAt >= 0 && l.ItemsAt <= len(l.Paragraphs))
	})
}
