package render

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	nethtml "golang.org/x/net/html"
)

func TestSanitizeEmailBody(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"links, bold, italic, underline and lists stay",
			`<p>Dear <b>#customer_name</b>, <strong>pay</strong> <i>now</i> <em>please</em> <u>today</u>:<br><a href="#portal_link">pay online</a></p><ul><li>a</li></ul><ol><li>b</li></ol>`,
			`<p>Dear <b>#customer_name</b>, <strong>pay</strong> <i>now</i> <em>please</em> <u>today</u>:<br><a href="#portal_link">pay online</a></p><ul><li>a</li></ul><ol><li>b</li></ol>`},
		{"web, mail and phone links stay",
			`<a href="https://pay.example/x?a=1&amp;b=2">w</a> <a href="mailto:a@b.example">m</a> <a href="tel:+3212345678">t</a>`,
			`<a href="https://pay.example/x?a=1&amp;b=2">w</a> <a href="mailto:a@b.example">m</a> <a href="tel:+3212345678">t</a>`},
		{"colour stays, in upper case, and nothing else of the style",
			`<p><span style="color: #c00000; font-size: 40px; background: url(x)">red</span> <font color="#0a0" face="Comic">green</font> <span style="color: red">named</span></p>`,
			`<p><span style="color: #C00000">red</span> <font color="#0A0">green</font> <span>named</span></p>`},
		{"scripts, handlers, images, forms and other schemes go",
			`<p onclick="x()" class="c" id="i">a<script>alert(1)</script><img src="https://t.example/p.gif" onerror="y()"><iframe src="https://e.example"></iframe><form action="/x"><input name="q"></form><a href="javascript:alert(1)">j</a><a href="data:text/html,x">d</a><a href="vbscript:x">v</a></p><style>p{}</style>`,
			`<p>a<a>j</a>dv</p>`},
		{"plain text is left alone", "Dear #customer_name,\n\n1 < 2 & 3 > 2", "Dear #customer_name,\n\n1 < 2 & 3 > 2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := SanitizeEmailBody(c.in)
			if strings.HasPrefix(c.name, "scripts") {
				// Which wrapper bluemonday keeps for an <a> whose href went is its
				// business; what matters is that nothing unsafe is left.
				requireSafe(t, got)
				require.Contains(t, got, "<p>a")
				return
			}
			require.Equal(t, c.want, got)
			require.Equal(t, got, SanitizeEmailBody(got), "sanitizing twice changes nothing")
		})
	}
}

// linkScheme is the scheme of a link target; a target without one is a
// #tag or a relative address, which the renderer drops.
var linkScheme = regexp.MustCompile(`^\s*([A-Za-z][A-Za-z0-9+.\-]*):`)

// requireSafe reads the sanitized body as a browser would: only the
// elements of the subset, only href, a colour style and a font colour, and
// links only to the web, mail or phone (or a #tag).
func requireSafe(t *testing.T, out string) {
	t.Helper()
	allowed := map[string]bool{"a": true}
	for _, e := range richTextElements {
		allowed[e] = true
	}
	z := nethtml.NewTokenizer(strings.NewReader(out))
	for {
		tt := z.Next()
		if tt == nethtml.ErrorToken {
			return
		}
		if tt != nethtml.StartTagToken && tt != nethtml.SelfClosingTagToken && tt != nethtml.EndTagToken {
			continue
		}
		tok := z.Token()
		require.True(t, allowed[tok.Data], "element %q in %q", tok.Data, out)
		for _, a := range tok.Attr {
			switch a.Key {
			case "href":
				require.Equal(t, "a", tok.Data, out)
				if m := linkScheme.FindStringSubmatch(a.Val); m != nil {
					require.Contains(t, []string{"http", "https", "mailto", "tel"}, strings.ToLower(m[1]), out)
				}
			case "style":
				// Only colour declarations (bluemonday keeps each one the
				// policy accepts), each a colour the email keeps.
				for _, decl := range strings.Split(a.Val, "; ") {
					require.Regexp(t, `(?i)^color: [^;:"]+$`, decl, out)
					_, ok := parseColour(decl[len("color: "):])
					require.True(t, ok, "only a colour the email keeps: %q in %q", a.Val, out)
				}
			case "color":
				require.Equal(t, "font", tok.Data, out)
				require.Regexp(t, hexColour, a.Val, out)
			default:
				require.Failf(t, "attribute kept", "%s on %s in %q", a.Key, tok.Data, out)
			}
		}
	}
}

// FuzzSanitizeEmailBody: whatever an admin saves, the stored body has no
// script, event handler, image or link to anything but the web, mail, phone
// or a #tag; sanitizing it again changes nothing; and the renderer takes it
// whenever its tags are known, with the customer's data escaped.
func FuzzSanitizeEmailBody(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Add(`<p onmouseover="x()" style="color:#abc;position:fixed">x</p><a href=" javascript:alert(1)">y</a><a href="#portal_link">z</a>`)
	f.Add(`<span style="color: RGB( 1 , 2 , 3 );color:#c00000"><font color="#00f" style="color: rgb(999,0,0)">x</font></span><span style="color:red">y</span>`)
	f.Add(`<svg><script>alert(1)</script></svg><math><mi xlink:href="javascript:x">m</mi></math><b>#customer_name</b>`)
	f.Fuzz(func(t *testing.T, in string) {
		out := SanitizeEmailBody(in)
		if !looksLikeHTML(in) {
			require.Equal(t, in, out, "plain text is stored as written")
			return
		}
		requireSafe(t, out)
		if looksLikeHTML(out) {
			require.Equal(t, out, SanitizeEmailBody(out), "sanitizing twice changes nothing")
		}
		if Validate(out) != nil {
			return
		}
		d := fullData("en")
		d.Customer.Name = `<script>alert("x")</script> & Co`
		e, err := RenderEmail(EmailTemplate{Subject: "S", Body: out}, d)
		require.NoError(t, err)
		require.NotContains(t, e.HTML, "<script>alert")
	})
}

// TestColourReachesTheEmail follows an admin's colour from the editor to
// the HTML part that is sent: the sanitizer keeps it (upper case), the
// renderer writes it as a span of its own, and a value that is not a plain
// colour goes at either wall.
func TestColourReachesTheEmail(t *testing.T) {
	saved := SanitizeEmailBody(`<p>Dear #customer_name, <span style="color: #c00000; font-size: 40px">please pay <b>#total_due</b></span>` +
		` <font color="#0a0" face="x">today</font>, <span style="color: rgb(0, 0, 255)">online</span>` +
		` <span style="color: red">named</span> <span style="color: expression(alert(1))">expr</span>.</p>`)
	require.Contains(t, saved, `<span style="color: #C00000">`)
	require.Contains(t, saved, `<font color="#0A0">`)
	require.Contains(t, saved, `<span style="color: rgb(0, 0, 255)">`)
	require.NotContains(t, saved, "font-size")
	require.NotContains(t, saved, "expression")
	require.NotContains(t, saved, "red", "a named colour is not kept: the email would not show it")

	e, err := RenderEmail(EmailTemplate{Subject: "s", Body: saved}, fullData("en"))
	require.NoError(t, err)
	require.Contains(t, e.HTML, `<span style="color:#C00000;">please pay </span><span style="color:#C00000;"><strong>€2,130.00</strong></span>`)
	require.Contains(t, e.HTML, `<span style="color:#00AA00;">today</span>`)
	require.Contains(t, e.HTML, `<span style="color:#0000FF;">online</span>`)
	require.Contains(t, e.HTML, ` named expr.</p>`)
	// The renderer is the second wall: an unsaved body (a manual action's
	// text, a preview) with values the sanitizer would drop loses them too.
	raw, err := RenderEmail(EmailTemplate{Subject: "s", Body: `<p><span style="color: red">a</span><span style="color:url(x)">b</span><font color="#C00">c</font></p>`}, fullData("en"))
	require.NoError(t, err)
	require.Contains(t, raw.HTML, `>ab<span style="color:#CC0000;">c</span></p>`)
	require.NotContains(t, e.HTML, "expression")
	require.Contains(t, e.Text, "please pay €2,130.00 today, online named expr.")
}

func TestParseColour(t *testing.T) {
	for in, want := range map[string]string{
		"#c00000": "#C00000", " #C00 ": "#CC0000", "rgb(192, 0, 0)": "#C00000", "RGB(1,2,3)": "#010203",
		"red": "", "#c0000": "", "rgb(256,0,0)": "", "rgba(1,2,3,0.5)": "", "#C00000;x:y": "",
		"url(javascript:x)": "", "expression(alert(1))": "", "": "", "#C00000\"><script>": "",
	} {
		got, ok := parseColour(in)
		require.Equal(t, want != "", ok, in)
		require.Equal(t, want, got, in)
	}
}
