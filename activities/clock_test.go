package activities

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestJourneyNow(t *testing.T) {
	anchor := time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		day   time.Duration
		now   time.Time
		want  time.Time
		anchr time.Time
	}{
		{"real day: wall clock", 24 * time.Hour, anchor.Add(50 * time.Hour), anchor.Add(50 * time.Hour), anchor},
		{"no anchor (older journey): wall clock", 10 * time.Second, anchor.Add(140 * time.Second), anchor.Add(140 * time.Second), time.Time{}},
		{"scaled: 14 journey days later", 10 * time.Second, anchor.Add(145 * time.Second), anchor.AddDate(0, 0, 14), anchor},
		{"scaled: day 0", 10 * time.Second, anchor.Add(3 * time.Second), anchor, anchor},
		{"scaled: clock before anchor", 10 * time.Second, anchor.Add(-time.Minute), anchor.Add(-time.Minute), anchor},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &Activities{Day: tc.day, Now: func() time.Time { return tc.now }}
			require.Equal(t, tc.want, a.journeyNow(tc.anchr))
		})
	}
}
