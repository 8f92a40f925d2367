// Package gsm counts what an SMS costs: whether its text fits the GSM 03.38
// alphabet (GSM-7) or must go as UCS-2, and how many parts it takes. The
// SMS client, the renderer's preview and the Vonage stand-in all count
// with it.
package gsm

import "unicode/utf16"

// gsmBasic is the GSM 03.38 default alphabet (one septet each).
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtended is the GSM 03.38 extension table (two septets each: ESC + char).
const gsmExtended = "\f^{}\\[~]|€"

var gsmSeptets = func() map[rune]int {
	m := make(map[rune]int, 160)
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExtended {
		m[r] = 2
	}
	return m
}()

// IsGSM7 reports whether text can be sent in the GSM-7 alphabet. Text that
// cannot (emoji, "œ", "’", Cyrillic…) must be sent as type=unicode, or the
// carrier replaces the characters it cannot encode.
func IsGSM7(text string) bool {
	for _, r := range text {
		if _, ok := gsmSeptets[r]; !ok {
			return false
		}
	}
	return true
}

// Segments returns how many SMS parts text takes and whether it goes as
// Unicode (UCS-2). GSM-7 text fits 160 septets in one part and 153 per part
// when concatenated (extension characters such as € count twice); Unicode
// text fits 70 UTF-16 units, 67 per part when concatenated. The preview of an
// SMS shows this count (docs/domain.md §1.7); Vonage bills per part.
func Segments(text string) (parts int, unicode bool) {
	if text == "" {
		return 0, false
	}
	if IsGSM7(text) {
		n := 0
		for _, r := range text {
			n += gsmSeptets[r]
		}
		if n <= 160 {
			return 1, false
		}
		// An escape pair is never split across two parts.
		parts, used := 1, 0
		for _, r := range text {
			w := gsmSeptets[r]
			if used+w > 153 {
				parts++
				used = 0
			}
			used += w
		}
		return parts, false
	}
	n := 0
	for _, r := range text {
		n += len(utf16.Encode([]rune{r}))
	}
	if n <= 70 {
		return 1, true
	}
	// A surrogate pair is never split across two parts.
	parts, used := 1, 0
	for _, r := range text {
		w := len(utf16.Encode([]rune{r}))
		if used+w > 67 {
			parts++
			used = 0
		}
		used += w
	}
	return parts, true
}
