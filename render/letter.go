package render

import "slices"

// Letter is the text of a postal letter, laid out by the PDF writer (which
// adds the addresses, the date and the logo around it).
type Letter struct {
	Subject string
	// Paragraphs are plain text (no escaping); a paragraph may contain
	// line breaks.
	Paragraphs []string
	// Items is the table to print when the template has #items_list (by
	// due date; empty but not nil when the customer has no open items), nil
	// when it has not. The tag itself is removed from the text.
	Items []Item
	// ItemsAt is where the table goes: before Paragraphs[ItemsAt] (equal to
	// len(Paragraphs) at the end). Meaningless when Items is nil.
	ItemsAt int
}

// RenderLetter fills a letter template with d, for the PDF writer: the
// paragraphs of the body as plain text, links written as "text (address)"
// since paper cannot be clicked, and the items table apart so that it can
// be printed as a real table.
func RenderLetter(t EmailTemplate, d Data) (Letter, error) {
	r := newRenderer(d)
	subject, err := r.subject(t.Subject)
	if err != nil {
		return Letter{}, err
	}
	blocks, err := parseTemplate(t.Body)
	if err != nil {
		return Letter{}, err
	}
	l := Letter{Subject: subject}
	seen := false
	for _, p := range r.paragraphs(blocks) {
		if !p.table {
			l.Paragraphs = append(l.Paragraphs, p.text)
			continue
		}
		if !seen {
			seen = true
			l.ItemsAt = len(l.Paragraphs)
			l.Items = slices.Clone(r.items)
			if l.Items == nil {
				l.Items = []Item{}
			}
		}
	}
	return l, nil
}
