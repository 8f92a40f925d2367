package sms

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEntries: the shared row's entries round-trip, an older worker's
// entries (no deadline) count for legacyInFlight, and garbage is forgotten.
func TestEntries(t *testing.T) {
	ring := []entry{{id: "a1", start: 10, end: 0, deadline: 10_000_010}, {id: "b2", start: 20, end: 30, deadline: 40}}
	require.Equal(t, ring, parseEntries(formatEntries(ring)))
	require.Equal(t, []entry{{id: "c3", start: 5, end: 0, deadline: 5 + legacyInFlight.Microseconds()}}, parseEntries("c3:5:0"))
	require.Empty(t, parseEntries(""))
	require.Empty(t, parseEntries("x,y:1,z:a:b:c,w:1:2:3:4:5"))
	for _, tc := range []struct {
		e    entry
		want int64
	}{
		{entry{start: 0, end: 0, deadline: 100}, 100 + 1000},
		{entry{start: 0, end: 50, deadline: 100}, 50 + 1000},
		{entry{start: 0, end: 150, deadline: 100}, 100 + 1000}, // done late: cut off at its deadline
	} {
		require.Equal(t, tc.want, tc.e.until(1000), "%+v", tc.e)
	}
}
