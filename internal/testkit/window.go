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

// Patience is how long a test waits for a condition that a running
// workflow or worker brings about. It is generous on purpose: on a loaded
// 2-core machine a worker may take tens of seconds to get to a task, and a
// condition that holds is seen at once, so a long bound costs nothing when
// all is well.
const Patience = 90 * time.Second
