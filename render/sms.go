package render

import (
	"strings"
	"unicode/utf16"
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

// gsmBasic is the GSM 03.38 default alphabet (one septet each), without
// the escape code; gsmExtension is its extension table (two septets each).
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtension = "\f^{}\\[~]|€"
)

var gsmSeptets = func() map[rune]int {
	m := map[rune]int{}
	for _, c := range gsmBasic {
		m[c] = 1
	}
	for _, c := range gsmExtension {
		m[c] = 2
	}
	return m
}()

// smsSegments counts the segments of text as GSM 03.38 and 03.40 define
// them: one GSM-7 segment holds 160 septets, a concatenated one 153 (an
// extension character never split across two); in UCS-2, 70 UTF-16 units
// or 67 per concatenated segment (a surrogate pair never split).
func smsSegments(text string) (int, string) {
	if text == "" {
		return 0, EncodingGSM7
	}
	var units []int // size of each character in septets or UTF-16 units
	gsm := true
	for _, c := range text {
		n, ok := gsmSeptets[c]
		if !ok {
			gsm = false
			break
		}
		units = append(units, n)
	}
	single, multi, encoding := 160, 153, EncodingGSM7
	if !gsm {
		units = units[:0]
		for _, c := range text {
			units = append(units, utf16.RuneLen(c))
		}
		single, multi, encoding = 70, 67, EncodingUCS2
	}
	total := 0
	for _, n := range units {
		total += n
	}
	if total <= single {
		return 1, encoding
	}
	segments, used := 1, 0
	for _, n := range units {
		if used+n > multi {
			segments++
			used = 0
		}
		used += n
	}
	return segments, encoding
}
