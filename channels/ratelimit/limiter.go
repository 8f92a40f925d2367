// Package ratelimit keeps a provider's throughput: at most n requests
// reach it in any one-second window, counted in one process (the sliding
// limiter) or across every worker sharing the database (SQLLimiter). The
// SMS channel (Vonage's account rate) and the email channel (an SMTP
// provider's cap) both use it.
package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Limiter decides when the next request to a provider may start. Wait blocks
// until it may, or returns ctx's error; on success the caller calls done
// once the request's answer (or its failure) is in.
//
// The limiters count completions, not starts: a request may start only one
// window after the n-th request before it completed. A request reaches the
// provider after it started and before it completed, so no window of the
// provider's clock ever holds more than n arrivals, however long a request
// spent in a busy worker, a database commit or the network. A fixed margin
// on start times cannot promise that (measured: a loaded two-core machine
// delayed requests by more than 100 ms). The cost is throughput: n requests
// per window plus one request's latency.
type Limiter interface {
	Wait(ctx context.Context) (done func(), err error)
}

// MaxInFlight bounds how long a started request counts as in flight when its
// done is never called (a worker killed mid-request): by then its request
// timeout has long passed, so it cannot reach the provider any more.
const MaxInFlight = 30 * time.Second

// pollInFlight is how often a waiter looks again while the request it waits
// for is still in flight.
const pollInFlight = 10 * time.Millisecond

// window is the limiters' window: the provider's one second.
const window = time.Second

// slot is one of the last n requests: when it started and, once done, when
// it completed.
type slot struct {
	start, end time.Time
	gen        uint64
}

// slidingLimiter is the in-process Limiter: at most n requests reach the
// provider in any window (see Limiter).
type slidingLimiter struct {
	mu     sync.Mutex
	window time.Duration
	slots  []slot // ring of the last n requests
	next   int    // index of the oldest slot, reused next
	gen    uint64
	now    func() time.Time
}

// Window is the limiters' window: the providers' one second.
const Window = window

// NewLocal returns the in-process Limiter of n requests per second.
func NewLocal(n int) Limiter { return newSlidingLimiter(max(n, 1), window) }

func newSlidingLimiter(n int, window time.Duration) *slidingLimiter {
	return &slidingLimiter{window: window, slots: make([]slot, n), now: time.Now}
}

// Wait implements Limiter.
func (l *slidingLimiter) Wait(ctx context.Context) (func(), error) {
	for {
		l.mu.Lock()
		now := l.now()
		s := l.slots[l.next] // the n-th request before this one
		var delay time.Duration
		switch {
		case s.start.IsZero(): // fewer than n requests so far
		case s.end.IsZero() && now.Sub(s.start) < MaxInFlight:
			delay = pollInFlight // still waiting for its answer
		default:
			end := s.end
			if end.IsZero() {
				end = s.start.Add(MaxInFlight) // its done never came
			}
			delay = end.Add(l.window).Sub(now)
		}
		if delay <= 0 {
			l.gen++
			i, gen := l.next, l.gen
			l.slots[i] = slot{start: now, gen: gen}
			l.next = (l.next + 1) % len(l.slots)
			l.mu.Unlock()
			return func() { l.done(i, gen) }, nil
		}
		l.mu.Unlock()

		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return func() {}, fmt.Errorf("waiting for the send rate limit: %w", ctx.Err())
		case <-timer.C:
		}
	}
}

// done records that the request in slot i completed, unless the slot was
// reused since.
func (l *slidingLimiter) done(i int, gen uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.slots[i].gen == gen && l.slots[i].end.IsZero() {
		l.slots[i].end = l.now()
	}
}
