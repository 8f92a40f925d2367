package app

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/domain"
)

func TestMinimumAmountChanges(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	for _, c := range []struct {
		name   string
		in     map[string]*int64
		set    map[string]int64
		remove []string
		bad    string // a part of the refusal's detail; "" when accepted
	}{
		{"none", nil, map[string]int64{}, nil, ""},
		{"one set", map[string]*int64{"EUR": n(2500)}, map[string]int64{"EUR": 2500}, nil, ""},
		{"zero and null remove", map[string]*int64{"EUR": n(0), "GBP": nil, "USD": n(1)}, map[string]int64{"USD": 1}, []string{"EUR", "GBP"}, ""},
		{"lower case", map[string]*int64{"eur": n(1)}, nil, nil, `"eur"`},
		{"not ISO 4217", map[string]*int64{"ABC": n(1)}, nil, nil, `"ABC"`},
		{"four letters", map[string]*int64{"EURO": n(1)}, nil, nil, `"EURO"`},
		{"digits", map[string]*int64{"978": n(1)}, nil, nil, `"978"`},
		{"negative", map[string]*int64{"EUR": n(-1)}, nil, nil, "0 or more"},
		{"one bad among good ones refuses all", map[string]*int64{"EUR": n(5), "GBP": n(-5)}, nil, nil, "GBP"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := minimumAmountChanges(c.in)
			if c.bad != "" {
				var fe *domain.FieldError
				require.True(t, errors.As(err, &fe), "%v", err)
				require.Equal(t, "minimum_amounts", fe.Field)
				require.True(t, fe.Rule, "a 422")
				require.Contains(t, fe.Error(), c.bad)
				require.Empty(t, got.set)
				require.Empty(t, got.remove)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.set, got.set)
			require.Equal(t, c.remove, got.remove)
		})
	}
}
