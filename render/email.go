package render

import (
	"html"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// EmailTemplate is an email as an administration writes it: a subject and
// a rich-text body, either a small HTML subset (p, br, b, strong, i, em, u,
// a, ul, ol, li) or plain text with blank-line paragraphs.
type EmailTemplate struct {
	Subject, Body string
}

// Email is a rendered email: both parts are sent (multipart/alternative),
// so that clients without HTML, and spam filters, get the same message.
type Email struct {
	Subject string
	// HTML is a complete document with inline styles only (email clients
	// drop <style> sheets and scripts).
	HTML string
	// Text is the plain-text rendering of the same body.
	Text string
}

// RenderEmail fills a template with d: values are escaped in the HTML part,
// #items_list becomes a table (an HTML table, and an aligned text table in
// the text part), money and dates are written for d.Language. A template
// with an unknown tag is refused with an *UnknownTagError.
func RenderEmail(t EmailTemplate, d Data) (Email, error) {
	r := newRenderer(d)
	subject, err := r.subject(t.Subject)
	if err != nil {
		return Email{}, err
	}
	blocks, err := parseTemplate(t.Body)
	if err != nil {
		return Email{}, err
	}
	return Email{Subject: subject, HTML: r.htmlDocument(subject, blocks), Text: r.text(blocks)}, nil
}

// Colours of the email document. They are upper case on purpose: "#fff"
// would read as a tag, "#FFF" does not.
const (
	colorPage   = "#F4F5F7"
	colorCard   = "#FFFFFF"
	colorText   = "#222222"
	colorLink   = "#1A56DB"
	colorRule   = "#DDDDDD"
	colorLine   = "#EEEEEE"
	colorAlert  = "#B42318"
	fontFamily  = "Arial,Helvetica,sans-serif"
	styleP      = "margin:0 0 16px 0;"
	styleLink   = "color:" + colorLink + ";text-decoration:underline;"
	styleCell   = "padding:6px 8px;border-bottom:1px solid " + colorLine + ";"
	styleHeader = "padding:6px 8px;border-bottom:2px solid " + colorRule + ";font-weight:bold;"
)

// htmlDocument wraps the body in a simple, centred, inline-styled layout
// that renders alike in the usual clients (tables for layout, no CSS
// classes).
func (r *renderer) htmlDocument(subject string, blocks []block) string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"" + r.lang + "\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	b.WriteString("<title>" + html.EscapeString(subject) + "</title>\n</head>\n")
	b.WriteString("<body style=\"margin:0;padding:0;background-color:" + colorPage + ";\">\n")
	b.WriteString("<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"background-color:" + colorPage + ";\">\n")
	b.WriteString("<tr><td align=\"center\" style=\"padding:24px 12px;\">\n")
	b.WriteString("<table role=\"presentation\" width=\"600\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"width:100%;max-width:600px;background-color:" + colorCard + ";\">\n")
	b.WriteString("<tr><td style=\"padding:32px;font-family:" + fontFamily + ";font-size:15px;line-height:1.5;color:" + colorText + ";\">\n")
	r.htmlBlocks(&b, blocks)
	b.WriteString("</td></tr>\n</table>\n</td></tr>\n</table>\n</body>\n</html>\n")
	return b.String()
}

// htmlBlocks writes paragraphs, lists (consecutive items of one list) and
// the items table.
func (r *renderer) htmlBlocks(b *strings.Builder, blocks []block) {
	counters := map[int]int{}
	for i := 0; i < len(blocks); i++ {
		blk := blocks[i]
		switch blk.kind {
		case paraBlock:
			b.WriteString("<p style=\"" + styleP + "\">")
			r.htmlRuns(b, blk.runs)
			b.WriteString("</p>\n")
		case tableBlock:
			r.htmlTable(b)
		case itemBlock:
			tag := "ul"
			if blk.ordered {
				tag = "ol"
			}
			b.WriteString("<" + tag)
			if n := counters[blk.list]; blk.ordered && n > 0 {
				b.WriteString(" start=\"" + strconv.Itoa(n+1) + "\"")
			}
			b.WriteString(" style=\"margin:0 0 16px 0;padding-left:" + strconv.Itoa(24*(blk.depth+1)) + "px;\">\n")
			for ; i < len(blocks) && blocks[i].kind == itemBlock && blocks[i].list == blk.list; i++ {
				it := blocks[i]
				if it.cont {
					b.WriteString("<li style=\"margin:0 0 4px 0;list-style:none;\">")
				} else {
					counters[it.list]++
					b.WriteString("<li style=\"margin:0 0 4px 0;\">")
				}
				r.htmlRuns(b, it.runs)
				b.WriteString("</li>\n")
			}
			i--
			b.WriteString("</" + tag + ">\n")
		}
	}
}

// htmlRuns writes inline content: one <a> per link, one set of format
// elements per stretch of equal format.
func (r *renderer) htmlRuns(b *strings.Builder, runs []run) {
	for i := 0; i < len(runs); {
		ln := runs[i].link
		j := i
		for j < len(runs) && runs[j].link == ln {
			j++
		}
		href := r.href(ln)
		if href != "" {
			b.WriteString("<a href=\"" + html.EscapeString(href) + "\" style=\"" + styleLink + "\">")
		}
		for k := i; k < j; {
			st, col := runs[k].style, runs[k].colour
			m := k
			for m < j && runs[m].style == st && runs[m].colour == col {
				m++
			}
			open, closing := formatTags(st)
			if col != "" {
				// col is "#RRGGBB" (parseColour): nothing else reaches the attribute.
				open, closing = "<span style=\"color:"+col+";\">"+open, closing+"</span>"
			}
			b.WriteString(open)
			for _, rn := range runs[k:m] {
				b.WriteString(r.htmlRun(rn, href != ""))
			}
			b.WriteString(closing)
			k = m
		}
		if href != "" {
			b.WriteString("</a>")
		}
		i = j
	}
}

func formatTags(st style) (open, closing string) {
	if st&styleBold != 0 {
		open, closing = open+"<strong>", "</strong>"+closing
	}
	if st&styleItalic != 0 {
		open, closing = open+"<em>", "</em>"+closing
	}
	if st&styleUnderline != 0 {
		open, closing = open+"<u>", "</u>"+closing
	}
	return open, closing
}

// htmlRun writes one run; tag values are escaped here, the only place where
// data enters the HTML.
func (r *renderer) htmlRun(rn run, inLink bool) string {
	switch {
	case rn.br:
		return "<br>"
	case rn.tag == nil:
		return html.EscapeString(rn.text)
	}
	v := rn.tag.value(r)
	switch rn.tag.kind {
	case logoValue:
		if src := safeURL(r.d.Company.LogoURL, true); src != "" {
			return "<img src=\"" + html.EscapeString(src) + "\" alt=\"" + html.EscapeString(v) +
				"\" style=\"border:0;max-width:200px;max-height:80px;\">"
		}
		return html.EscapeString(v)
	case urlValue:
		if u := safeURL(v, false); u != "" && !inLink {
			return "<a href=\"" + html.EscapeString(u) + "\" style=\"" + styleLink + "\">" + html.EscapeString(v) + "</a>"
		}
		return html.EscapeString(v)
	case moneyValue:
		return strings.ReplaceAll(html.EscapeString(v), " ", "&nbsp;")
	default:
		return strings.ReplaceAll(html.EscapeString(v), "\n", "<br>")
	}
}

// href resolves a link target; it is empty (no link) unless it is a web,
// mail or phone address, so that a template or a value cannot smuggle a
// javascript: link into an email.
func (r *renderer) href(ln *link) string {
	if ln == nil {
		return ""
	}
	var b strings.Builder
	for _, p := range ln.parts {
		if p.tag != nil {
			b.WriteString(oneLine(p.tag.value(r)))
		} else {
			b.WriteString(p.text)
		}
	}
	return safeURL(b.String(), false)
}

// safeURL returns s trimmed if it is an absolute http(s) URL (or, unless
// webOnly, a mailto: or tel: URL), else "".
func safeURL(s string, webOnly bool) string {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			return ""
		}
		return s
	case "mailto", "tel":
		if webOnly || u.Opaque == "" {
			return ""
		}
		return s
	}
	return ""
}

// htmlTable writes #items_list: every open item and the total open amount.
func (r *renderer) htmlTable(b *strings.Builder) {
	l := r.labels()
	if len(r.items) == 0 {
		b.WriteString("<p style=\"" + styleP + "\"><em>" + html.EscapeString(l.none) + "</em></p>\n")
		return
	}
	th := func(s string, right bool) {
		align := "left"
		if right {
			align = "right"
		}
		b.WriteString("<th style=\"" + styleHeader + "text-align:" + align + ";\">" + html.EscapeString(s) + "</th>")
	}
	td := func(s string, right bool, extra string) {
		st := styleCell + extra
		if right {
			st += "text-align:right;white-space:nowrap;"
		}
		b.WriteString("<td style=\"" + st + "\">" + strings.ReplaceAll(html.EscapeString(s), " ", "&nbsp;") + "</td>")
	}
	b.WriteString("<table cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"width:100%;border-collapse:collapse;margin:0 0 16px 0;font-size:14px;\">\n<thead><tr>")
	th(l.number, false)
	th(l.date, false)
	th(l.due, false)
	th(l.amount, true)
	th(l.open, true)
	th(l.days, true)
	steps := r.hasSteps()
	if steps {
		th(l.step, false)
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	for _, it := range r.items {
		b.WriteString("<tr>")
		td(it.Number, false, "")
		td(r.date(it.IssueDate), false, "white-space:nowrap;")
		td(r.date(it.DueDate), false, "white-space:nowrap;")
		td(FormatMoney(it.Amount, r.lang), true, "")
		td(FormatMoney(it.Open, r.lang), true, "")
		if it.DaysOverdue > 0 {
			td(strconv.Itoa(it.DaysOverdue), true, "color:"+colorAlert+";")
		} else {
			td("", true, "")
		}
		if steps {
			td(it.Step, false, "")
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n<tfoot><tr><td colspan=\"4\" style=\"padding:6px 8px;font-weight:bold;\">" + html.EscapeString(l.total) + "</td>")
	b.WriteString("<td style=\"padding:6px 8px;font-weight:bold;text-align:right;white-space:nowrap;\">" +
		strings.ReplaceAll(html.EscapeString(r.totalDue()), " ", "&nbsp;") + "</td><td></td>")
	if steps {
		b.WriteString("<td></td>")
	}
	b.WriteString("</tr></tfoot>\n</table>\n")
}

// hasSteps reports whether any item has a Step label: the tables then
// show the column (a bundle's items); an ordinary list has none.
func (r *renderer) hasSteps() bool {
	return slices.ContainsFunc(r.items, func(it Item) bool { return it.Step != "" })
}

// textPara is a paragraph of plain text, or the place of the items table.
type textPara struct {
	text  string
	table bool
}

// paragraphs writes the blocks as plain-text paragraphs; the consecutive
// items of lists make one paragraph, one line per item.
func (r *renderer) paragraphs(blocks []block) []textPara {
	var out []textPara
	counters := map[int]int{}
	for i := 0; i < len(blocks); i++ {
		switch blk := blocks[i]; blk.kind {
		case paraBlock:
			out = append(out, textPara{text: r.textRuns(blk.runs)})
		case tableBlock:
			out = append(out, textPara{table: true})
		case itemBlock:
			var lines []string
			for ; i < len(blocks) && blocks[i].kind == itemBlock; i++ {
				it := blocks[i]
				bullet := "- "
				if it.ordered {
					bullet = strconv.Itoa(counters[it.list]+1) + ". "
				}
				if it.cont {
					bullet = strings.Repeat(" ", len(bullet))
				} else {
					counters[it.list]++
				}
				indent := strings.Repeat("  ", it.depth)
				pad := "\n" + indent + strings.Repeat(" ", len(bullet))
				lines = append(lines, indent+bullet+strings.ReplaceAll(r.textRuns(it.runs), "\n", pad))
			}
			i--
			out = append(out, textPara{text: strings.Join(lines, "\n")})
		}
	}
	return out
}

// text is the plain-text part of an email.
func (r *renderer) text(blocks []block) string {
	paras := r.paragraphs(blocks)
	parts := make([]string, len(paras))
	for i, p := range paras {
		if p.table {
			parts[i] = r.textTable()
		} else {
			parts[i] = p.text
		}
	}
	return strings.Join(parts, "\n\n")
}

// textRuns writes inline content as plain text; a link whose text does not
// show its target is followed by the target in brackets, since plain text
// has no links.
func (r *renderer) textRuns(runs []run) string {
	var b strings.Builder
	for i := 0; i < len(runs); {
		ln := runs[i].link
		j := i
		for j < len(runs) && runs[j].link == ln {
			j++
		}
		var t strings.Builder
		for _, rn := range runs[i:j] {
			switch {
			case rn.br:
				t.WriteByte('\n')
			case rn.tag != nil:
				t.WriteString(rn.tag.value(r))
			default:
				t.WriteString(rn.text)
			}
		}
		b.WriteString(t.String())
		if href := r.href(ln); href != "" {
			shown := strings.TrimPrefix(strings.TrimPrefix(href, "mailto:"), "tel:")
			if !strings.Contains(t.String(), shown) {
				b.WriteString(" (" + shown + ")")
			}
		}
		i = j
	}
	return b.String()
}

// textTable writes #items_list as an aligned table for a fixed-width
// reading of the text part.
func (r *renderer) textTable() string {
	l := r.labels()
	if len(r.items) == 0 {
		return l.none
	}
	steps := r.hasSteps()
	head := []string{l.number, l.date, l.due, l.amount, l.open, l.days}
	if steps {
		head = append(head, l.step)
	}
	rows := [][]string{head}
	for _, it := range r.items {
		days := ""
		if it.DaysOverdue > 0 {
			days = strconv.Itoa(it.DaysOverdue)
		}
		row := []string{it.Number, r.date(it.IssueDate), r.date(it.DueDate),
			FormatMoney(it.Amount, r.lang), FormatMoney(it.Open, r.lang), days}
		if steps {
			row = append(row, it.Step)
		}
		rows = append(rows, row)
	}
	total := []string{l.total, "", "", "", r.totalDue(), ""}
	if steps {
		total = append(total, "")
	}
	widths := make([]int, len(rows[0]))
	for _, row := range append(rows, total) {
		for c, cell := range row {
			widths[c] = max(widths[c], utf8.RuneCountInString(cell))
		}
	}
	line := func(row []string) string {
		cells := make([]string, len(row))
		for c, cell := range row {
			pad := strings.Repeat(" ", widths[c]-utf8.RuneCountInString(cell))
			if c >= 3 && c <= 5 {
				cells[c] = pad + cell
			} else {
				cells[c] = cell + pad
			}
		}
		return strings.TrimRight(strings.Join(cells, "  "), " ")
	}
	width := 2 * (len(widths) - 1)
	for _, w := range widths {
		width += w
	}
	rule := strings.Repeat("-", width)
	out := []string{line(rows[0]), rule}
	for _, row := range rows[1:] {
		out = append(out, line(row))
	}
	out = append(out, rule, line(total))
	return strings.Join(out, "\n")
}
