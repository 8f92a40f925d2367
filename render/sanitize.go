package render

import (
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
)

// richTextElements are the elements a stored email body may keep: the
// subset the renderer reads (DESIGN.md §1.9: links, bold, colour), plus the
// usual wrappers an editor writes.
var richTextElements = []string{"p", "br", "b", "strong", "i", "em", "u", "ul", "ol", "li", "div", "span", "font"}

// hexColour is the only form of the colour attribute of <font> kept.
var hexColour = regexp.MustCompile(`^#[0-9A-Fa-f]{3}(?:[0-9A-Fa-f]{3})?$`)

// emailPolicy is the sanitizer of stored email bodies. Relative URLs stay
// allowed because "#portal_link" in a link target is a fragment-only URL.
var emailPolicy = func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements(richTextElements...)
	p.AllowAttrs("href").OnElements("a")
	p.AllowURLSchemes("http", "https", "mailto", "tel")
	p.AllowRelativeURLs(true)
	p.RequireParseableURLs(true)
	// Only the colour values the renderer writes into the sent email
	// (parseColour) are kept, so the admin reads back what is sent.
	p.AllowStyles("color").MatchingHandler(func(v string) bool { _, ok := parseColour(v); return ok }).
		OnElements(append([]string{"a"}, richTextElements...)...)
	p.AllowAttrs("color").Matching(hexColour).OnElements("font")
	return p
}()

// SanitizeEmailBody returns the rich-text (HTML) email body as it is
// stored: links (web, mailto, tel and #tags), bold, italic, underline,
// lists and colours are kept; scripts, event handlers, images, forms and
// every other attribute are removed. A plain-text body (no element of the
// subset) is returned as it is, since "<" and "&" there are just characters.
//
// The renderer never copies a body's HTML either (see parseHTML): this is
// the first of two walls, so that what an admin reads back is also safe.
func SanitizeEmailBody(body string) string {
	if !looksLikeHTML(body) {
		return body
	}
	return colourAttr.ReplaceAllStringFunc(emailPolicy.Sanitize(body), func(attr string) string {
		i := strings.LastIndexByte(attr, '#')
		return attr[:i] + strings.ToUpper(attr[i:])
	})
}

// colourAttr finds the hexadecimal colours in the attributes the policy
// keeps (style="color: …" and <font color="…">). They are written in upper
// case, so that "#c00000" is not read as a tag: a tag starts with a
// lowercase letter, and the body's tags are checked as written.
var colourAttr = regexp.MustCompile(`(?:style="[^"]*|color=")#[0-9A-Fa-f]{3,6}`)
