package render

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSMSSegments(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name     string
		text     string
		segments int
		encoding string
	}{
		{"empty", "", 0, EncodingGSM7},
		{"160 GSM", a(160), 1, EncodingGSM7},
		{"161 GSM", a(161), 2, EncodingGSM7},
		{"306 GSM", a(306), 2, EncodingGSM7},
		{"307 GSM", a(307), 3, EncodingGSM7},
		{"euro counts 2: 158+2", a(158) + "€", 1, EncodingGSM7},
		{"euro counts 2: 159+2", a(159) + "€", 2, EncodingGSM7},
		{"extension chars: 150+5*2", a(150) + "[]{}~", 1, EncodingGSM7},
		{"extension chars: 151+5*2", a(151) + "[]{}~", 2, EncodingGSM7},
		// 152 septets then "€": the escape pair may not be split, so it opens segment 2.
		{"escape not split", a(152) + "€" + a(153), 3, EncodingGSM7},
		{"GSM accents", "àéèùìòÄÖÑÜäöñüßÉÇ£¥§¿¡", 1, EncodingGSM7},
		{"emoji", "Paid 👍", 1, EncodingUCS2},
		{"70 UCS-2", "ê" + a(69), 1, EncodingUCS2},
		{"71 UCS-2", "ê" + a(70), 2, EncodingUCS2},
		{"134 UCS-2", "ê" + a(133), 2, EncodingUCS2},
		{"135 UCS-2", "ê" + a(134), 3, EncodingUCS2},
		// An emoji is a surrogate pair (2 units), never split over segments.
		{"surrogate not split", a(66) + "👍" + a(3), 2, EncodingUCS2},
		{"backtick is not GSM", "`", 1, EncodingUCS2},
	}
	for _, tt := range tests {
		n, enc := smsSegments(tt.text)
		require.Equal(t, tt.segments, n, tt.name)
		require.Equal(t, tt.encoding, enc, tt.name)
	}
}

func TestRenderSMS(t *testing.T) {
	d := fullData("en")
	s, err := RenderSMS(strings.Repeat("x", 160), d)
	require.NoError(t, err)
	require.Equal(t, SMS{Text: strings.Repeat("x", 160), Segments: 1, Encoding: EncodingGSM7}, s)

	s, err = RenderSMS("#company_name: #items_list. Pay: #portal_link", d)
	require.NoError(t, err)
	require.Equal(t, "Northwind Supplies BV: 3 open items, total €2,130.00. Pay: https://pay.example.com/p/8f3a2c", s.Text)
	require.Equal(t, 1, s.Segments)

	// Typographic punctuation would force UCS-2; it is replaced.
	d.Customer.Name = "O’Brien “Bros” – Ltd…\u00a0"
	s, err = RenderSMS("Dear #customer_name", d)
	require.NoError(t, err)
	require.Equal(t, `Dear O'Brien "Bros" - Ltd...`, s.Text)
	require.Equal(t, EncodingGSM7, s.Encoding)

	d.Customer.Name = "Zoë"
	s, err = RenderSMS("Dear #customer_name", d)
	require.NoError(t, err)
	require.Equal(t, EncodingUCS2, s.Encoding)

	d.Items = []Item{{Number: "A", Open: eur(100)}}
	s, err = RenderSMS("#items_list", d)
	require.NoError(t, err)
	require.Equal(t, "1 open item, total €1.00", s.Text)
}
