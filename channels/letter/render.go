package letter

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"slices"
	"strings"
	"sync"

	"github.com/johnfercher/maroto/v2"
	"github.com/johnfercher/maroto/v2/pkg/components/col"
	"github.com/johnfercher/maroto/v2/pkg/components/image"
	"github.com/johnfercher/maroto/v2/pkg/components/row"
	"github.com/johnfercher/maroto/v2/pkg/components/text"
	"github.com/johnfercher/maroto/v2/pkg/config"
	"github.com/johnfercher/maroto/v2/pkg/consts/align"
	"github.com/johnfercher/maroto/v2/pkg/consts/border"
	"github.com/johnfercher/maroto/v2/pkg/consts/extension"
	"github.com/johnfercher/maroto/v2/pkg/consts/fontstyle"
	"github.com/johnfercher/maroto/v2/pkg/consts/pagesize"
	"github.com/johnfercher/maroto/v2/pkg/core"
	"github.com/johnfercher/maroto/v2/pkg/core/entity"
	"github.com/johnfercher/maroto/v2/pkg/props"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goitalic"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/relance/relance/channels"
)

// Page geometry, in millimetres from the top-left corner of an A4 sheet.
//
// The recipient's address sits in the window of a standard left-window
// envelope (DL 110×220 or C5/6 114×229 with a 45×90 mm window 20 mm from the
// left edge; DIN 5008 form B puts the address field at 45 mm from the top):
// once the sheet is folded in three, the block from WindowTop to
// WindowTop+WindowHeight, starting WindowLeft from the left, shows through
// the window. The letterhead above must end before WindowTop.
const (
	MarginLeft   = 20.0
	MarginRight  = 20.0
	MarginTop    = 10.0
	MarginBottom = 15.0

	// WindowLeft, WindowTop, WindowWidth and WindowHeight describe the
	// envelope window the recipient's address is printed in.
	WindowLeft   = 20.0
	WindowTop    = 45.0
	WindowWidth  = 85.0
	WindowHeight = 45.0

	letterheadHeight = 33.0
)

// fontFamily is the embedded Go font (a humanist sans serif under a BSD
// licence). The PDF core fonts only cover Windows-1252, which mangles the
// Polish, Czech or Romanian names a European ledger holds; an embedded
// Unicode TrueType font prints them.
const fontFamily = "go"

var fonts = sync.OnceValue(func() []*entity.CustomFont {
	return []*entity.CustomFont{
		{Family: fontFamily, Style: fontstyle.Normal, Bytes: goregular.TTF},
		{Family: fontFamily, Style: fontstyle.Bold, Bytes: gobold.TTF},
		{Family: fontFamily, Style: fontstyle.Italic, Bytes: goitalic.TTF},
	}
})

// labels are the fixed texts of a letter, per language.
type labels struct {
	Number, IssueDate, DueDate, Amount, Open, Total, Portal string
	// Code introduces the short way in: "or go to HOME and enter the code CODE".
	Code string
	// Step heads the column of a bundle's items' own steps.
	Step string
}

var labelsByLanguage = map[string]labels{
	"en": {"Invoice", "Date", "Due date", "Amount", "Open", "Total", "Your account online:", "Or go to %s and enter the code %s", "Step"},
	"fr": {"Facture", "Date", "Échéance", "Montant", "Solde dû", "Total", "Votre espace client en ligne :", "Ou rendez-vous sur %s et saisissez le code %s", "Étape"},
	"nl": {"Factuur", "Datum", "Vervaldatum", "Bedrag", "Openstaand", "Totaal", "Uw klantenportaal:", "Of ga naar %s en vul de code %s in", "Stap"},
	"de": {"Rechnung", "Datum", "Fällig am", "Betrag", "Offen", "Summe", "Ihr Kundenportal:", "Oder gehen Sie auf %s und geben Sie den Code %s ein", "Stufe"},
}

func labelsFor(language string) labels {
	lang := strings.ToLower(language)
	if i := strings.IndexAny(lang, "-_"); i > 0 {
		lang = lang[:i]
	}
	if l, ok := labelsByLanguage[lang]; ok {
		return l
	}
	return labelsByLanguage["en"]
}

var (
	gray      = &props.Color{Red: 90, Green: 90, Blue: 90}
	lightGray = &props.Color{Red: 230, Green: 230, Blue: 230}
)

// RenderPDF renders l as an A4 PDF: the sender's letterhead (logo, name,
// address, details), the recipient's address in the envelope window (see
// WindowTop), the date, the subject in bold, the paragraphs, the open items as
// a table with their total, the portal link in full and, when l.AskEmail is
// set, a framed request to give an email address on the portal.
//
// Errors are about the input (an unreadable logo, no recipient) and will not
// go away on a retry.
func RenderPDF(l channels.Letter) ([]byte, error) {
	if strings.TrimSpace(l.Recipient.Name) == "" {
		return nil, errors.New("letter: recipient name is empty")
	}
	if len(l.LogoPNG) > 0 {
		if _, err := png.DecodeConfig(bytes.NewReader(l.LogoPNG)); err != nil {
			return nil, fmt.Errorf("letter: logo is not a readable PNG: %w", err)
		}
	}
	lab := labelsFor(l.Language)

	cfg := config.NewBuilder().
		WithPageSize(pagesize.A4).
		WithLeftMargin(MarginLeft).
		WithRightMargin(MarginRight).
		WithTopMargin(MarginTop).
		WithBottomMargin(MarginBottom).
		WithCustomFonts(fonts()).
		WithDefaultFont(&props.Font{Family: fontFamily, Size: 10}).
		WithTitle(l.Subject, true).
		WithAuthor(l.Sender.Name, true).
		WithCreator("Relance", false).
		WithPageNumber(props.PageNumber{Pattern: "{current} / {total}", Place: props.RightBottom, Size: 7, Family: fontFamily}).
		Build()
	m := maroto.New(cfg)

	m.AddRows(letterhead(l))
	m.AddRows(row.New(WindowTop - MarginTop - letterheadHeight))
	m.AddRows(window(l))

	if l.Date != "" {
		m.AddRows(text.NewRow(10, l.Date, props.Text{Align: align.Right, Top: 2}))
	}
	if l.Subject != "" {
		m.AddAutoRow(text.NewCol(12, l.Subject, props.Text{Style: fontstyle.Bold, Size: 11, Top: 2, Bottom: 4}))
	}
	for _, p := range l.Paragraphs {
		for _, line := range strings.Split(strings.ReplaceAll(p, "\r\n", "\n"), "\n") {
			if strings.TrimSpace(line) == "" {
				m.AddRows(row.New(2))
				continue
			}
			m.AddAutoRow(text.NewCol(12, line, props.Text{Bottom: 1, VerticalPadding: 1.2}))
		}
		m.AddRows(row.New(3))
	}
	if len(l.Items) > 0 {
		m.AddRows(itemsTable(l, lab)...)
	}
	if l.PortalLink != "" {
		m.AddAutoRow(text.NewCol(12, lab.Portal, props.Text{Top: 3}))
		m.AddAutoRow(text.NewCol(12, l.PortalLink, linkProps(l.PortalLink, 2)))
		if l.PortalHome != "" && l.PortalCode != "" {
			m.AddAutoRow(text.NewCol(12, fmt.Sprintf(lab.Code, l.PortalHome, l.PortalCode), props.Text{Top: 2}))
		}
	}
	if l.AskEmail && strings.TrimSpace(l.AskEmailText) != "" {
		m.AddRows(row.New(5))
		m.AddRows(askEmail(l)...)
	}

	doc, err := m.Generate()
	if err != nil {
		return nil, fmt.Errorf("letter: render PDF for %s: %w", l.Key, err)
	}
	return doc.GetBytes(), nil
}

// letterhead is the sender block at the top of the first page: logo on the
// left (when given), name and address, then the details (phone, email,
// bank) on the right.
func letterhead(l channels.Letter) core.Row {
	var cols []core.Col
	nameSize, detailsSize := 7, 5
	if len(l.LogoPNG) > 0 {
		cols = append(cols, image.NewFromBytesCol(3, l.LogoPNG, extension.Png, props.Rect{Percent: 90}))
		nameSize, detailsSize = 5, 4
	}
	name := col.New(nameSize)
	top := 0.0
	if l.Sender.Name != "" {
		name.Add(text.New(l.Sender.Name, props.Text{Style: fontstyle.Bold, Size: 12, Top: top}))
		top += 6
	}
	for _, line := range addressLines(channels.PostalAddress{
		Lines: l.Sender.Lines, PostalCode: l.Sender.PostalCode, City: l.Sender.City, Country: l.Sender.Country,
	}, false) {
		name.Add(text.New(line, props.Text{Size: 9, Top: top, Color: gray}))
		top += 4
	}
	details := col.New(detailsSize)
	top = 1
	for _, line := range l.SenderDetails {
		details.Add(text.New(line, props.Text{Size: 8, Top: top, Align: align.Right, Color: gray}))
		top += 3.8
	}
	return row.New(letterheadHeight).Add(append(cols, name, details)...)
}

// window is the address block shown through the envelope window: a one-line
// return address in small print, then the recipient.
func window(l channels.Letter) core.Row {
	addr := col.New(6)
	if ret := strings.Join(addressLines(l.Sender, true), " · "); ret != "" {
		addr.Add(text.New(ret, props.Text{Size: 6.5, Top: 1, Color: gray}))
	}
	top := 7.0
	for _, line := range addressLines(l.Recipient, false) {
		addr.Add(text.New(line, props.Text{Size: 10, Top: top}))
		top += 4.6
	}
	return row.New(WindowHeight).Add(addr, col.New(6))
}

// addressLines returns the printed lines of a, name first; compact joins
// postal code and city on one line for the return address.
func addressLines(a channels.PostalAddress, compact bool) []string {
	var lines []string
	if s := strings.TrimSpace(a.Name); s != "" {
		lines = append(lines, s)
	}
	for _, s := range a.Lines {
		if s = strings.TrimSpace(s); s != "" {
			lines = append(lines, s)
		}
	}
	if s := strings.TrimSpace(strings.TrimSpace(a.PostalCode) + " " + strings.TrimSpace(a.City)); s != "" {
		lines = append(lines, s)
	}
	if s := strings.TrimSpace(a.Country); s != "" && !compact {
		lines = append(lines, s)
	}
	return lines
}

// itemsTable lists the open items with a header row and the total. The
// items of a bundle show their own step where the issue date goes.
func itemsTable(l channels.Letter, lab labels) []core.Row {
	steps := slices.ContainsFunc(l.Items, func(it channels.LetterItem) bool { return it.Step != "" })
	second, secondOf := lab.IssueDate, func(it channels.LetterItem) string { return it.IssueDate }
	if steps {
		second, secondOf = lab.Step, func(it channels.LetterItem) string { return it.Step }
	}
	head := props.Text{Size: 8.5, Style: fontstyle.Bold, Top: 1.5}
	headRight := head
	headRight.Align = align.Right
	rows := []core.Row{
		row.New(3),
		row.New(6.5).Add(
			text.NewCol(3, lab.Number, withLeft(head, 1)),
			text.NewCol(2, second, head),
			text.NewCol(2, lab.DueDate, head),
			text.NewCol(2, lab.Amount, headRight),
			text.NewCol(3, lab.Open, withRight(headRight, 1)),
		).WithStyle(&props.Cell{BackgroundColor: lightGray}),
	}
	cell := props.Text{Size: 9, Top: 1.2}
	cellRight := cell
	cellRight.Align = align.Right
	for _, it := range l.Items {
		rows = append(rows, row.New(6).Add(
			text.NewCol(3, it.Number, withLeft(cell, 1)),
			text.NewCol(2, secondOf(it), cell),
			text.NewCol(2, it.DueDate, cell),
			text.NewCol(2, it.Amount, cellRight),
			text.NewCol(3, it.Open, withRight(cellRight, 1)),
		).WithStyle(&props.Cell{BorderType: border.Bottom, BorderColor: lightGray, BorderThickness: 0.2}))
	}
	if l.ItemsTotal != "" {
		total := cellRight
		total.Style = fontstyle.Bold
		rows = append(rows, row.New(7).Add(
			col.New(7),
			text.NewCol(2, lab.Total, total),
			text.NewCol(3, l.ItemsTotal, withRight(total, 1)),
		))
	}
	return append(rows, row.New(3))
}

// askEmail is the framed request to give an email address on the portal:
// the text, then the link, in one frame drawn by the two rows' borders.
func askEmail(l channels.Letter) []core.Row {
	frame := func(b border.Type) *props.Cell {
		return &props.Cell{BorderType: b, BorderThickness: 0.4}
	}
	textRow := row.New().Add(text.NewCol(12, l.AskEmailText,
		props.Text{Style: fontstyle.Bold, Size: 10, Top: 3, Bottom: 2, Left: 3, Right: 3}))
	if l.PortalLink == "" {
		return []core.Row{textRow.WithStyle(frame(border.Full))}
	}
	linkRow := row.New().Add(text.NewCol(12, l.PortalLink, withLeft(linkProps(l.PortalLink, 0), 3)))
	linkRow.WithStyle(frame(border.Left | border.Right | border.Bottom))
	return []core.Row{textRow.WithStyle(frame(border.Left | border.Top | border.Right)), linkRow, row.New(1)}
}

// linkProps prints a link in full on one line: long links get a smaller
// font rather than a line break in the middle of the URL.
func linkProps(link string, top float64) props.Text {
	size := 10.0
	switch n := len(link); {
	case n > 120:
		size = 7
	case n > 95:
		size = 8
	}
	return props.Text{Size: size, Top: top, Bottom: 2, Hyperlink: &link}
}

func withLeft(p props.Text, v float64) props.Text  { p.Left = v; return p }
func withRight(p props.Text, v float64) props.Text { p.Right = v; return p }
