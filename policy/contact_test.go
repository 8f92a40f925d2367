package policy

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNormalizeMobile(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		country string
		want    string
		err     error
	}{
		{name: "NL national", raw: "06 12345678", country: "NL", want: "+31612345678"},
		{name: "NL with dashes", raw: "06-12 34 56 78", country: "NL", want: "+31612345678"},
		{name: "NL lower-case country", raw: "0612345678", country: "nl", want: "+31612345678"},
		{name: "NL with 00 prefix", raw: "0031612345678", country: "NL", want: "+31612345678"},
		{name: "BE mobile", raw: "0470 12 34 56", country: "BE", want: "+32470123456"},
		{name: "FR mobile", raw: "06 12 34 56 78", country: "FR", want: "+33612345678"},
		{name: "DE mobile", raw: "01512 3456789", country: "DE", want: "+4915123456789"},
		{name: "GB mobile", raw: "07400 123456", country: "GB", want: "+447400123456"},
		{name: "already E.164", raw: "+31612345678", country: "NL", want: "+31612345678"},
		{name: "E.164 without country", raw: "+33612345678", country: "", want: "+33612345678"},
		{name: "foreign E.164 for a NL customer", raw: "+32 470 12 34 56", country: "NL", want: "+32470123456"},
		{name: "surrounding spaces", raw: "  +447400123456 ", country: "GB", want: "+447400123456"},
		{name: "US fixed line or mobile accepted", raw: "+1 202 555 0123", country: "", want: "+12025550123"},
		{name: "NL landline", raw: "020 123 4567", country: "NL", err: ErrNotMobile},
		{name: "BE landline", raw: "02 511 12 34", country: "BE", err: ErrNotMobile},
		{name: "NL toll free", raw: "0800 0123", country: "NL", err: ErrNotMobile},
		{name: "garbage", raw: "bel me niet", country: "NL", err: ErrMobileInvalid},
		{name: "too short", raw: "06-1234", country: "NL", err: ErrMobileInvalid},
		{name: "national without country", raw: "0612345678", country: "", err: ErrMobileInvalid},
		{name: "unknown country code", raw: "+999 123", country: "", err: ErrMobileInvalid},
		{name: "empty", raw: "", country: "NL", err: ErrMobileMissing},
		{name: "blank", raw: "   ", country: "NL", err: ErrMobileMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizeMobile(tc.raw, tc.country)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				require.Empty(t, got)
				if tc.err != ErrMobileMissing {
					require.Contains(t, err.Error(), tc.raw, "the error names the number")
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestValidEmail(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"jan@example.nl", true},
		{"jan.de.vries+facturen@sub.example.co.uk", true},
		{"a@b.c", true},
		{"", false},
		{"jan", false},
		{"jan@", false},
		{"@example.nl", false},
		{"jan@localhost", false},
		{"jan@example", false},
		{"Jan <jan@example.nl>", false},
		{"<jan@example.nl>", false},
		{" jan@example.nl", false},
		{"jan@example.nl ", false},
		{"jan@@example.nl", false},
		{"jan@example..nl", false},
		{"jan@example.nl.", false},
		{"jan@[192.168.0.1]", false},
		{"jan@example.nl, piet@example.nl", false},
		{"jan @example.nl", false},
		{string(make([]byte, 250)) + "@example.nl", false},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			require.Equal(t, tc.want, ValidEmail(tc.addr))
		})
	}
}
