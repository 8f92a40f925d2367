package schedule

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSpread(t *testing.T) {
	ams, err := time.LoadLocation("Europe/Amsterdam")
	require.NoError(t, err)
	nl := Window{Country: "NL", Location: ams, StartHour: 9, EndHour: 17}
	at := func(h, m int) time.Time { return time.Date(2026, 12, 1, h, m, 0, 0, ams) }
	cases := []struct {
		name     string
		t        time.Time
		w        Window
		key      string
		min, max time.Time // inclusive bounds of the result
	}{
		{"window start: anywhere in the first seven hours", at(9, 0), nl, "customer:1:42", at(9, 0), at(16, 0)},
		{"mid-afternoon: only what remains less the reserve", at(14, 30), nl, "customer:1:42", at(14, 30), at(16, 0)},
		{"last hour: unchanged", at(16, 10), nl, "customer:1:42", at(16, 10), at(16, 10)},
		{"outside hours: unchanged", at(20, 0), nl, "customer:1:42", at(20, 0), at(20, 0)},
		{"before opening: unchanged", at(7, 0), nl, "customer:1:42", at(7, 0), at(7, 0)},
		{"short window: half of what remains", at(9, 0), Window{Location: ams, StartHour: 9, EndHour: 10}, "k", at(9, 0), at(9, 30)},
		{"default hours when unset", at(9, 0), Window{Location: ams}, "k", at(9, 0), at(16, 0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Spread(c.t, c.w, c.key)
			require.Equal(t, time.UTC, got.Location())
			require.False(t, got.Before(c.min), "%s before %s", got, c.min)
			require.False(t, got.After(c.max), "%s after %s", got, c.max)
			require.Equal(t, got, Spread(c.t, c.w, c.key), "deterministic")
			require.Equal(t, got, got.Truncate(time.Second), "whole seconds")
		})
	}
}

// TestSpreadIsEven: 10,000 keys fall over the seven usable hours of a 9-17
// window, about evenly per hour, and the same key moves every day's step by
// the same amount (the customer's invoices stay together).
func TestSpreadIsEven(t *testing.T) {
	w := Window{Country: "NL", Location: time.UTC, StartHour: 9, EndHour: 17}
	day1 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	day2 := day1.AddDate(0, 0, 7)
	perHour := map[int]int{}
	const n = 10000
	distinct := map[time.Time]bool{}
	for i := range n {
		key := fmt.Sprintf("customer:3:%d", i)
		got := Spread(day1, w, key)
		perHour[got.Hour()]++
		distinct[got] = true
		require.Equal(t, got.Sub(day1), Spread(day2, w, key).Sub(day2), "same offset every day for %s", key)
	}
	require.Len(t, perHour, 7, "hours 9..15 all used, none after 16:00")
	for h, k := range perHour {
		require.InDelta(t, n/7, k, n/7*0.15, "hour %d got %d", h, k)
	}
	// 25,200 whole seconds for 10,000 keys: about 8,270 distinct expected.
	require.Greater(t, len(distinct), n*3/4, "instants rarely coincide")
}
