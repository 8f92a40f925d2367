package sms

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Limiter decides when the next request to Vonage may start. Acquire blocks
// until it may, or returns ctx's error. The caller makes the request only
// after Acquire returned, cuts it off at the permit's Deadline (at most
// timeout later), and calls Permit.Done once its answer (or its failure) is
// in.
//
// # The bound, and why it holds at the provider
//
// A request reaches the provider at some instant between its start and its
// end (its answer, or the moment our side cut it off); which instant, the
// sender cannot know. So a request counts against the rate from its start
// until one window after its end, and a request may start only while fewer
// than n requests count. Take any n+1 requests that reached the provider in
// one window of its clock, and the one among them that started last: the
// other n started before it, and each ended no earlier than it reached the
// provider, so no earlier than one window before the last one's arrival:
// each still counted until that arrival, and so when the last one started
// (it started before it arrived). With n counting, the last one could not
// have started: no window of the provider's clock ever holds more than n
// arrivals, however long a request spent in a busy worker, a database
// commit or the network.
//
// # A hung request
//
// A request the provider never answers (or whose answer is slow) counts
// until its own deadline has cut it off on our side, plus one window: after
// that it can no longer reach the provider. It takes one of the n slots
// meanwhile, not all of them: the other requests go on at the rate the
// remaining slots allow. Throughput is n requests per window plus latency
// (n / (window + latency) for answered requests); each hung request removes
// one slot for (timeout + window), so with a share h of requests hanging
// the rate is about n / (window + latency + h*timeout): the request timeout
// (VONAGE_TIMEOUT) is what a hang costs. A request whose worker died never
// calls Done; it stops counting one window after its deadline, which is as
// long as it could have been alive.
type Limiter interface {
	Acquire(ctx context.Context, timeout time.Duration) (*Permit, error)
}

// Permit lets one request start. Deadline is when the caller must have cut
// the request off; it is computed from an instant taken before the slot was
// granted, so it never lies beyond the deadline the limiter counts.
type Permit struct {
	Deadline time.Time
	once     sync.Once
	done     func()
}

// Done records that the request is over (answered or cut off); calls after
// the first do nothing.
func (p *Permit) Done() {
	if p == nil || p.done == nil {
		return
	}
	p.once.Do(p.done)
}

// legacyInFlight is how long a request counts while in flight when it was
// recorded without a deadline (the shared row's older format).
const legacyInFlight = 30 * time.Second

// pollInFlight is how often a waiter looks again while every slot is held
// and a request that holds one may end at any moment.
const pollInFlight = 10 * time.Millisecond

// window is the limiters' window: the provider's one second.
const window = time.Second

// slot is a request that still counts: when it started, its deadline, and,
// once done, when it ended.
type slot struct {
	start, deadline, end time.Time
	id                   uint64
}

// until is when the slot stops counting: one window after its end, where a
// request never ends later than its deadline.
func (s slot) until(w time.Duration) time.Time {
	end := s.deadline
	if !s.end.IsZero() && s.end.Before(end) {
		end = s.end
	}
	return end.Add(w)
}

// slidingLimiter is the in-process Limiter (see Limiter for the bound).
type slidingLimiter struct {
	mu     sync.Mutex
	n      int
	window time.Duration
	slots  []slot // the requests that still count, at most n
	nextID uint64
	now    func() time.Time
}

func newSlidingLimiter(n int, window time.Duration) *slidingLimiter {
	return &slidingLimiter{n: n, window: window, now: time.Now}
}

// Acquire implements Limiter.
func (l *slidingLimiter) Acquire(ctx context.Context, timeout time.Duration) (*Permit, error) {
	for {
		l.mu.Lock()
		now := l.now()
		delay := l.expire(now)
		if len(l.slots) < l.n {
			l.nextID++
			s := slot{start: now, deadline: now.Add(timeout), id: l.nextID}
			l.slots = append(l.slots, s)
			l.mu.Unlock()
			return &Permit{Deadline: s.deadline, done: func() { l.done(s.id) }}, nil
		}
		l.mu.Unlock()

		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("sms: waiting for the send rate limit: %w", ctx.Err())
		case <-timer.C:
		}
	}
}

// expire drops the slots that no longer count and returns how long to wait
// before one more may stop counting.
func (l *slidingLimiter) expire(now time.Time) time.Duration {
	kept := l.slots[:0]
	var delay time.Duration = -1
	for _, s := range l.slots {
		until := s.until(l.window)
		if !until.After(now) {
			continue
		}
		kept = append(kept, s)
		d := until.Sub(now)
		if s.end.IsZero() && d > pollInFlight {
			d = pollInFlight // it may end at any moment
		}
		if delay < 0 || d < delay {
			delay = d
		}
	}
	l.slots = kept
	if delay < 0 {
		delay = pollInFlight
	}
	return delay
}

// done records that request id ended, if it still counts.
func (l *slidingLimiter) done(id uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.slots {
		if l.slots[i].id == id && l.slots[i].end.IsZero() {
			l.slots[i].end = l.now()
		}
	}
}
