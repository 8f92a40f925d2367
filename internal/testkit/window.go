package testkit

import (
	"sort"
	"time"
)

// MaxInWindow is the largest number of instants in any half-open window
// [t, t+window): what a provider counting per second would see.
func MaxInWindow(times []time.Time, window time.Duration) int {
	sorted := append([]time.Time(nil), times...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Before(sorted[j]) })
	best := 0
	for i := range sorted {
		n := sort.Search(len(sorted), func(j int) bool { return !sorted[j].Before(sorted[i].Add(window)) }) - i
		if n > best {
			best = n
		}
	}
	return best
}
