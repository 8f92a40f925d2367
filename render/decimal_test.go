package render

import "testing"

func TestDecimal(t *testing.T) {
	for _, tt := range []struct {
		m    Money
		want string
	}{
		{Money{123456, "EUR"}, "1234.56"},
		{Money{5, "EUR"}, "0.05"},
		{Money{0, "EUR"}, "0.00"},
		{Money{-4000, "EUR"}, "-40.00"},
		{Money{1234, "JPY"}, "1234"},
		{Money{1234, "KWD"}, "1.234"},
		{Money{99, "XXX-unknown"}, "0.99"},
	} {
		if got := Decimal(tt.m); got != tt.want {
			t.Errorf("Decimal(%v) = %q, want %q", tt.m, got, tt.want)
		}
	}
}
