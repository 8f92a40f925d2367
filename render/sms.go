package render

import (
	"strings"

	"github.com/relance/relance/channels/sms/gsm"
)

// SMS is a rendered text message with what it will cost: the number of
// segments the operator bills, and the encoding that decides it.
type SMS struct {
	Text     string
	Segments int
	// Encoding is "GSM-7" when every character is in the GSM 03.38
	// alphabet, else "UCS-2".
	Encoding string
}

// SMS encodings.
const (
	EncodingGSM7 = "GSM-7"
	EncodingUCS2 = "UCS-2"
)

// RenderSMS fills an SMS text with d. Values are not escaped; multi-line
// values are joined on one line; #items_list is a one-line summary (count
// and total). Typographic quotes, dashes, ellipses and non-breaking spaces
// become their plain GSM equivalents, because a single one of them would
// switch the message to UCS-2 and more than double its cost.
func RenderSMS(body string, d Data) (SMS, error) {
	if err := Validate(body); err != nil {
		return SMS{}, err
	}
	r := newRenderer(d)
	text, err := r.plain(body)
	if err != nil {
		return SMS{}, err
	}
	text = strings.TrimSpace(gsmReplacer.Replace(text))
	segments, encoding := smsSegments(text)
	return SMS{Text: text, Segments: segments, Encoding: encoding}, nil
}

// gsmReplacer maps typographic characters outside GSM 03.38 to ones inside.
var gsmReplacer = strings.NewReplacer(
	"\r\n", "\n", "\r", "\n",
	"\u2018", "'", "\u2019", "'", "\u201A", "'", "\u2032", "'",
	"\u201C", `"`, "\u201D", `"`, "\u201E", `"`, "\u00AB", `"`, "\u00BB", `"`,
	"\u2013", "-", "\u2014", "-", "\u2212", "-",
	"\u2026", "...",
	"\u00A0", " ", "\u202F", " ", "\u2009", " ",
)

// smsSegments is gsm.Segments with the encoding named as the preview shows it.
func smsSegments(text string) (int, string) {
	segments, unicode := gsm.Segments(text)
	if unicode {
		return segments, EncodingUCS2
	}
	return segments, EncodingGSM7
}
