package schedule

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// SpreadReserve is the end of each day's send window that Spread leaves
// free, so that a send retried with backoff, or caught up after a short
// outage, still lands in business hours.
const SpreadReserve = time.Hour

// Spread moves t, an instant inside the window w, later by a fixed fraction
// of what remains of that day's window (less SpreadReserve), the fraction
// chosen by key: the same key gives the same fraction, different keys are
// spread evenly. A day's steps then go out over the window instead of all
// at its first second (a burst of replays, sends and rate-limit waits).
//
// t is returned unchanged when it is outside the window's hours or when less
// than a minute of the window remains. When the window is shorter than
// twice SpreadReserve, half of what remains is used instead. Spread is pure
// and deterministic.
func Spread(t time.Time, w Window, key string) time.Time {
	loc := w.location()
	local := t.In(loc)
	start, end := w.hours()
	y, m, d := local.Date()
	open := time.Date(y, m, d, start, 0, 0, 0, loc)
	closeAt := time.Date(y, m, d, end, 0, 0, 0, loc)
	if local.Before(open) || !local.Before(closeAt) {
		return t.UTC()
	}
	remaining := closeAt.Sub(local)
	span := remaining - SpreadReserve
	if closeAt.Sub(open) < 2*SpreadReserve {
		span = remaining / 2
	}
	if span < time.Minute {
		return t.UTC()
	}
	// SHA-256, not FNV: keys differ in their last digits only, and FNV's
	// top bits barely move with them. The top 53 bits as a fraction in [0, 1).
	sum := sha256.Sum256([]byte(key))
	frac := float64(binary.BigEndian.Uint64(sum[:8])>>11) / float64(uint64(1)<<53)
	offset := time.Duration(frac * float64(span)).Truncate(time.Second)
	return t.Add(offset).UTC()
}
