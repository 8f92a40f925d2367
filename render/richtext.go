package render

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/net/html"
)

// A body is parsed once into blocks of runs; each channel then writes the
// blocks its own way (HTML, plain text, letter paragraphs). Tags are
// resolved to their definitions while parsing, so the writers cannot miss
// one.

// style is a set of inline formats.
type style uint8

const (
	styleBold style = 1 << iota
	styleItalic
	styleUnderline
)

// link is the target of an <a>: literal text and tags, resolved per render.
type link struct{ parts []run }

// run is a piece of inline content: literal text, a tag, or a line break,
// with its format and the link it belongs to.
type run struct {
	text  string
	tag   *tagDef
	br    bool
	style style
	// colour is the text colour as "#RRGGBB" (see parseColour), or "".
	colour string
	link   *link
}

type blockKind uint8

const (
	paraBlock  blockKind = iota // a paragraph
	itemBlock                   // a list item
	tableBlock                  // the #items_list table
)

// block is a paragraph, a list item or the items table.
type block struct {
	kind    blockKind
	list    int  // itemBlock: which list
	ordered bool // itemBlock: numbered list
	depth   int  // itemBlock: nesting level, from 0
	cont    bool // itemBlock: continues the previous item (no new bullet)
	runs    []run
}

// htmlHint recognises a rich-text body: one of the elements of the subset
// (or a usual wrapper). Anything else is plain text with blank-line
// paragraphs, where "<" and "&" are just characters.
var htmlHint = regexp.MustCompile(`(?i)</?(?:p|br|b|strong|i|em|u|a|ul|ol|li|div|span|h[1-6]|html|body)[\s/>]`)

func looksLikeHTML(s string) bool {
	return strings.IndexByte(s, '<') >= 0 && htmlHint.MatchString(s)
}

// parseTemplate checks and parses a body: the same checks as Validate
// (the tags as written, then the parse itself), with one parse instead of two.
func parseTemplate(body string) ([]block, error) {
	if err := checkTags(body); err != nil {
		return nil, err
	}
	return parseBody(body)
}

// parseBody parses a rich-text or plain-text body.
func parseBody(body string) ([]block, error) {
	if looksLikeHTML(body) {
		return parseHTML(body)
	}
	return parsePlain(body)
}

// parsePlain reads paragraphs separated by blank lines; a single line break
// inside a paragraph is kept.
func parsePlain(body string) ([]block, error) {
	b := &builder{}
	body = strings.ReplaceAll(body, "\r\n", "\n")
	body = strings.ReplaceAll(body, "\r", "\n")
	inPara := false
	for _, line := range strings.Split(body, "\n") {
		if strings.TrimSpace(line) == "" {
			b.flush()
			inPara = false
			continue
		}
		if inPara {
			b.lineBreak()
		}
		b.add(strings.TrimRight(line, " \t"))
		inPara = true
	}
	b.flush()
	return b.out, b.err
}

// skipped are elements whose content is never shown.
var skipped = map[string]bool{
	"script": true, "style": true, "title": true, "template": true,
	"noscript": true, "textarea": true, "iframe": true, "object": true,
	"svg": true, "math": true,
}

// blockElements start and end a paragraph. Elements outside the subset are
// read for their text, so a pasted <div> or <h2> still gives paragraphs.
var blockElements = map[string]bool{
	"p": true, "div": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"blockquote": true, "pre": true, "table": true, "tr": true, "section": true, "article": true,
	"header": true, "footer": true, "center": true, "hr": true, "address": true, "dl": true,
	"dt": true, "dd": true, "figure": true, "body": true, "html": true,
}

// parseHTML reads the rich-text subset: p, br, b, strong, i, em, u, a, ul,
// ol, li. Other elements keep their text and lose their markup, script and
// the like lose both, attributes other than href are dropped: the HTML
// that is sent is always written by this package, never copied.
func parseHTML(body string) ([]block, error) {
	z := html.NewTokenizer(strings.NewReader(body))
	b := &builder{collapse: true, space: true}
	skip := 0
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		tok := z.Token()
		switch tt {
		case html.TextToken:
			if skip == 0 {
				b.text(tok.Data)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			if skipped[tok.Data] {
				if tt == html.StartTagToken {
					skip++
				}
				continue
			}
			if skip == 0 {
				b.start(tok, tt == html.SelfClosingTagToken)
			}
		case html.EndTagToken:
			if skipped[tok.Data] {
				if skip > 0 {
					skip--
				}
				continue
			}
			if skip == 0 {
				b.end(tok.Data)
			}
		}
		if b.err != nil {
			return nil, b.err
		}
	}
	b.flush()
	return b.out, b.err
}

// listCtx is an open list.
type listCtx struct {
	id      int
	ordered bool
	inItem  bool
}

// builder collects runs into blocks.
type builder struct {
	out []block
	cur block
	// collapse folds white space as HTML does; space tells that the text
	// of the block so far is empty or ends in a space.
	collapse, space         bool
	bold, italic, underline int
	// colours is one entry per open element (void elements aside), so
	// that an end tag takes back the colour its start tag set.
	colours  []colourCtx
	links    []*link
	lists    []listCtx
	nextList int
	// bulletPending: an <li> started and has not shown content yet.
	bulletPending bool
	// pending is literal text not yet made a run, in pendingStyle and
	// pendingLink.
	pending       strings.Builder
	hasPending    bool
	pendingStyle  style
	pendingColour string
	pendingLink   *link
	err           error
}

// colourCtx is an open element and the colour it set ("" for none).
type colourCtx struct{ name, colour string }

// colour is the text colour in force: that of the innermost open element
// that set one.
func (b *builder) colour() string {
	for i := len(b.colours) - 1; i >= 0; i-- {
		if c := b.colours[i].colour; c != "" {
			return c
		}
	}
	return ""
}

func (b *builder) style() style {
	var s style
	if b.bold > 0 {
		s |= styleBold
	}
	if b.italic > 0 {
		s |= styleItalic
	}
	if b.underline > 0 {
		s |= styleUnderline
	}
	return s
}

func (b *builder) link() *link {
	if n := len(b.links); n > 0 {
		return b.links[n-1]
	}
	return nil
}

// text adds text content, folding white space in HTML.
func (b *builder) text(s string) {
	if !b.collapse {
		b.add(s)
		return
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\r', '\f':
			if !b.space {
				sb.WriteByte(' ')
				b.space = true
			}
		default:
			sb.WriteByte(c)
			b.space = false
		}
	}
	b.add(sb.String())
}

// add appends literal text. Text of one format is gathered in pending
// (not appended to a string, which would be quadratic on long bodies) and
// becomes a run when the format changes or the block ends.
func (b *builder) add(s string) {
	if s == "" {
		return
	}
	st, col, ln := b.style(), b.colour(), b.link()
	if b.hasPending && (b.pendingStyle != st || b.pendingColour != col || b.pendingLink != ln) {
		b.commit()
	}
	if !b.hasPending {
		b.hasPending, b.pendingStyle, b.pendingColour, b.pendingLink = true, st, col, ln
	}
	b.pending.WriteString(s)
}

// commit turns the pending text into a run.
func (b *builder) commit() {
	if !b.hasPending {
		return
	}
	b.cur.runs = append(b.cur.runs, run{text: b.pending.String(), style: b.pendingStyle, colour: b.pendingColour, link: b.pendingLink})
	b.pending.Reset()
	b.hasPending = false
}

func (b *builder) lineBreak() {
	b.commit()
	b.trimTrailing()
	b.cur.runs = append(b.cur.runs, run{br: true, style: b.style(), colour: b.colour(), link: b.link()})
	b.space = true
}

// trimTrailing drops the white space that ends the current block.
func (b *builder) trimTrailing() {
	for n := len(b.cur.runs); n > 0; n = len(b.cur.runs) {
		last := &b.cur.runs[n-1]
		if last.br || last.tag != nil {
			return
		}
		last.text = strings.TrimRight(last.text, " \t")
		if last.text != "" {
			return
		}
		b.cur.runs = b.cur.runs[:n-1]
	}
}

// setBlock makes the next block a list item or a paragraph, from the
// lists open now.
func (b *builder) setBlock() {
	b.cur = block{kind: paraBlock}
	if n := len(b.lists); n > 0 && b.lists[n-1].inItem {
		l := b.lists[n-1]
		b.cur = block{kind: itemBlock, list: l.id, ordered: l.ordered, depth: n - 1}
	}
	b.space = true
}

// flush ends the current block: its tags are resolved, #items_list splits
// it around a table block, and empty parts are dropped.
func (b *builder) flush() {
	b.commit()
	b.trimTrailing()
	cur := b.cur
	b.setBlock()
	if b.err != nil || len(cur.runs) == 0 {
		return
	}
	runs, err := resolveTags(cur.runs)
	if err != nil {
		b.err = err
		return
	}
	start := 0
	for i, r := range runs {
		if r.tag != nil && r.tag.kind == itemsValue && r.link == nil {
			b.emit(cur, runs[start:i])
			b.out = append(b.out, block{kind: tableBlock})
			start = i + 1
		}
	}
	b.emit(cur, runs[start:])
}

// emit appends a block made of runs unless it shows nothing.
func (b *builder) emit(blk block, runs []run) {
	for len(runs) > 0 && runs[0].br {
		runs = runs[1:]
	}
	for len(runs) > 0 && runs[len(runs)-1].br {
		runs = runs[:len(runs)-1]
	}
	content := false
	for _, r := range runs {
		if r.tag != nil || strings.TrimSpace(r.text) != "" {
			content = true
			break
		}
	}
	if !content {
		return
	}
	runs = append([]run(nil), runs...)
	if r := &runs[0]; r.tag == nil {
		r.text = strings.TrimLeft(r.text, " ")
	}
	if r := &runs[len(runs)-1]; r.tag == nil {
		r.text = strings.TrimRight(r.text, " ")
	}
	blk.runs = runs
	if blk.kind == itemBlock {
		blk.cont = !b.bulletPending
		b.bulletPending = false
	}
	b.out = append(b.out, blk)
}

// resolveTags finds the tags in the text of a block as the reader sees it,
// across format changes, and replaces them by tag runs that take the format
// of their '#'.
func resolveTags(runs []run) ([]run, error) {
	var sb strings.Builder
	offs := make([]int, len(runs))
	for i, r := range runs {
		offs[i] = sb.Len()
		if r.br {
			sb.WriteByte('\n')
		} else {
			sb.WriteString(r.text)
		}
	}
	s := sb.String()
	type match struct {
		start, end int
		def        *tagDef
	}
	var ms []match
	var err error
	scanTags(s, func(start, end int, name string) bool {
		def := tagIndex[name]
		if def == nil {
			err = &UnknownTagError{Tag: "#" + name}
			return false
		}
		ms = append(ms, match{start, end, def})
		return true
	})
	if err != nil || len(ms) == 0 {
		return runs, err
	}
	out := make([]run, 0, len(runs)+2*len(ms))
	mi := 0
	for i, r := range runs {
		if r.br {
			out = append(out, r)
			continue
		}
		lo, hi := offs[i], offs[i]+len(r.text)
		for pos := lo; pos < hi; {
			for mi < len(ms) && ms[mi].end <= pos {
				mi++
			}
			if mi < len(ms) && ms[mi].start <= pos {
				if ms[mi].start == pos {
					out = append(out, run{tag: ms[mi].def, style: r.style, colour: r.colour, link: r.link})
				}
				pos = min(ms[mi].end, hi)
				continue
			}
			next := hi
			if mi < len(ms) && ms[mi].start < next {
				next = ms[mi].start
			}
			out = append(out, run{text: s[pos:next], style: r.style, colour: r.colour, link: r.link})
			pos = next
		}
	}
	return out, nil
}

// voidElements have no end tag: they open nothing that could carry a colour.
var voidElements = map[string]bool{
	"br": true, "img": true, "hr": true, "input": true, "meta": true, "link": true, "wbr": true,
	"col": true, "area": true, "base": true, "embed": true, "source": true, "track": true, "param": true,
}

// start handles a start tag.
func (b *builder) start(tok html.Token, selfClosing bool) {
	name := tok.Data
	if !selfClosing && !voidElements[name] {
		b.colours = append(b.colours, colourCtx{name: name, colour: elementColour(tok)})
	}
	switch {
	case name == "br":
		b.lineBreak()
	case blockElements[name]:
		b.flush()
	case selfClosing:
	case name == "b" || name == "strong":
		b.bold++
	case name == "i" || name == "em":
		b.italic++
	case name == "u" || name == "ins":
		b.underline++
	case name == "a":
		b.links = append(b.links, b.parseLink(tok))
	case name == "ul" || name == "ol":
		b.flush()
		b.lists = append(b.lists, listCtx{id: b.nextList, ordered: name == "ol"})
		b.nextList++
		b.setBlock()
	case name == "li":
		b.flush()
		if len(b.lists) == 0 {
			b.lists = append(b.lists, listCtx{id: b.nextList})
			b.nextList++
		}
		b.lists[len(b.lists)-1].inItem = true
		b.bulletPending = true
		b.setBlock()
	case name == "td" || name == "th":
		b.text(" ")
	}
}

// end handles an end tag; an end tag with no start is ignored.
func (b *builder) end(name string) {
	// The colour of the innermost open element of that name ends (HTML an
	// editor wrote may close elements out of order).
	for i := len(b.colours) - 1; i >= 0; i-- {
		if b.colours[i].name == name {
			b.colours = append(b.colours[:i], b.colours[i+1:]...)
			break
		}
	}
	switch {
	case name == "br":
		b.lineBreak()
	case blockElements[name]:
		b.flush()
	case name == "b" || name == "strong":
		b.bold = max(0, b.bold-1)
	case name == "i" || name == "em":
		b.italic = max(0, b.italic-1)
	case name == "u" || name == "ins":
		b.underline = max(0, b.underline-1)
	case name == "a":
		if n := len(b.links); n > 0 {
			b.links = b.links[:n-1]
		}
	case name == "ul" || name == "ol":
		b.flush()
		if n := len(b.lists); n > 0 {
			b.lists = b.lists[:n-1]
		}
		b.bulletPending = false
		b.setBlock()
	case name == "li":
		b.flush()
		if n := len(b.lists); n > 0 {
			b.lists[n-1].inItem = false
		}
		b.bulletPending = false
		b.setBlock()
	}
}

// parseLink reads the href of an <a>; a link without one is no link.
func (b *builder) parseLink(tok html.Token) *link {
	for _, a := range tok.Attr {
		if a.Namespace != "" || a.Key != "href" {
			continue
		}
		href := strings.TrimSpace(a.Val)
		if href == "" {
			return nil
		}
		l := &link{}
		last := 0
		scanTags(href, func(start, end int, name string) bool {
			def := tagIndex[name]
			if def == nil {
				b.err = &UnknownTagError{Tag: "#" + name}
				return false
			}
			if start > last {
				l.parts = append(l.parts, run{text: href[last:start]})
			}
			l.parts = append(l.parts, run{tag: def})
			last = end
			return true
		})
		if last < len(href) {
			l.parts = append(l.parts, run{text: href[last:]})
		}
		return l
	}
	return nil
}

// elementColour reads the text colour an element sets: the color property
// of its style attribute, or the color attribute of <font>. Only a colour
// parseColour accepts is kept, so nothing but "#RRGGBB" ever reaches a
// style attribute the renderer writes.
func elementColour(tok html.Token) string {
	for _, a := range tok.Attr {
		switch {
		case a.Namespace != "":
		case a.Key == "color" && tok.Data == "font":
			if c, ok := parseColour(a.Val); ok {
				return c
			}
		case a.Key == "style":
			for _, decl := range strings.Split(a.Val, ";") {
				prop, val, ok := strings.Cut(decl, ":")
				if ok && strings.EqualFold(strings.TrimSpace(prop), "color") {
					if c, ok := parseColour(val); ok {
						return c
					}
				}
			}
		}
	}
	return ""
}

// hexColourValue and rgbColourValue are the colour values the renderer
// accepts: what rich-text editors write (#C00000, #c00, rgb(192, 0, 0)).
var (
	hexColourValue = regexp.MustCompile(`^#([0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})$`)
	rgbColourValue = regexp.MustCompile(`^(?i:rgb)\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)$`)
)

// parseColour returns v as "#RRGGBB" (upper case, so it can never read as
// a #tag), or false for anything else: named colours, other functions,
// expressions, url(...) and the like are dropped rather than passed on.
func parseColour(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if m := hexColourValue.FindStringSubmatch(v); m != nil {
		h := strings.ToUpper(m[1])
		if len(h) == 3 {
			h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
		}
		return "#" + h, true
	}
	if m := rgbColourValue.FindStringSubmatch(v); m != nil {
		var out [3]byte
		for i := range out {
			n, err := strconv.Atoi(m[i+1])
			if err != nil || n > 255 {
				return "", false
			}
			out[i] = byte(n)
		}
		return fmt.Sprintf("#%02X%02X%02X", out[0], out[1], out[2]), true
	}
	return "", false
}
