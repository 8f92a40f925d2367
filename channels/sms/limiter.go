package sms

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// windowMargin widens the limiter's one-second window. The limiter counts
// when a request starts; the provider counts when it arrives, a little
// later and with jitter. Without a margin, a request delayed on its way and
// one sent exactly a second after it could land in the same provider-side
// second together with the n-1 requests in between. The jitter is the
// scheduling of a busy worker (measured: 20 ms was not enough on a loaded
// two-core machine), so the margin is generous: the throughput stays within
// 10% of the account's rate, and Vonage's throttling (status 1) is never hit.
const windowMargin = 100 * time.Millisecond

// slidingLimiter lets at most n requests start in any window of the given
// length: a request may start only once the n-th request before it started
// at least one window ago. Unlike a token bucket it never allows a burst
// above n in a window, which is what a provider counting per second checks.
type slidingLimiter struct {
	mu     sync.Mutex
	window time.Duration
	starts []time.Time // ring of the last n start times
	next   int         // index of the oldest entry, overwritten next
	now    func() time.Time
}

func newSlidingLimiter(n int, window time.Duration) *slidingLimiter {
	return &slidingLimiter{window: window, starts: make([]time.Time, n), now: time.Now}
}

// wait blocks until a request may start and records its start, or returns
// ctx's error if ctx ends first (the slot is then not used).
func (l *slidingLimiter) wait(ctx context.Context) error {
	for {
		l.mu.Lock()
		now := l.now()
		oldest := l.starts[l.next]
		if oldest.IsZero() || now.Sub(oldest) >= l.window {
			l.starts[l.next] = now
			l.next = (l.next + 1) % len(l.starts)
			l.mu.Unlock()
			return nil
		}
		delay := l.window - now.Sub(oldest)
		l.mu.Unlock()

		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("sms: waiting for the send rate limit: %w", ctx.Err())
		case <-timer.C:
		}
	}
}
