package sms

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeClock is a settable clock for the in-process limiter.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// expired is a context already cancelled: Acquire must answer from the
// limiter's state alone.
func expired() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// TestLimiterCountsRequestsUntilDone: a request still waiting for its answer
// holds its slot until its deadline, however long ago it started; a done
// request counts one window more.
func TestLimiterCountsRequestsUntilDone(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	l := newSlidingLimiter(2, time.Second)
	l.now = clock.now
	p1, err := l.Acquire(context.Background(), 10*time.Second)
	require.NoError(t, err)
	require.Equal(t, clock.t.Add(10*time.Second), p1.Deadline)
	p2, err := l.Acquire(context.Background(), 10*time.Second)
	require.NoError(t, err)

	clock.advance(5 * time.Second)
	_, err = l.Acquire(expired(), 10*time.Second)
	require.ErrorIs(t, err, context.Canceled, "both in flight: a third waits, well past the window")

	p1.Done()
	clock.advance(999 * time.Millisecond)
	_, err = l.Acquire(expired(), 10*time.Second)
	require.ErrorIs(t, err, context.Canceled, "a done request counts one window after its end")
	clock.advance(time.Millisecond)
	p3, err := l.Acquire(expired(), 10*time.Second)
	require.NoError(t, err, "one window after the first was done")
	p2.Done()
	p3.Done()
	p1.Done() // a second call changes nothing
}

// TestLimiterHungRequestHoldsOneSlot: a request that is never answered
// holds one slot until one window after its deadline, and only one: the
// other slots serve the rest meanwhile. (The limiter before this one made
// every later request wait for the n-th before it, so one hung request
// stopped them all for its timeout.)
func TestLimiterHungRequestHoldsOneSlot(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	l := newSlidingLimiter(2, time.Second)
	l.now = clock.now
	hung, err := l.Acquire(context.Background(), 10*time.Second) // never done: its worker died
	require.NoError(t, err)
	for i := 0; i < 8; i++ {
		p, err := l.Acquire(expired(), 10*time.Second)
		require.NoError(t, err, "request %d: the hung request holds one slot of two", i)
		clock.advance(100 * time.Millisecond)
		p.Done()
		_, err = l.Acquire(expired(), 10*time.Second)
		require.ErrorIs(t, err, context.Canceled, "request %d: two count (the hung one and the one just done)", i)
		clock.advance(time.Second)
	}
	// 9.8 s after the hung request started: past the window after its
	// deadline, it no longer counts; before, it does.
	clock.t = hung.Deadline.Add(time.Second - time.Millisecond)
	p, err := l.Acquire(expired(), 10*time.Second)
	require.NoError(t, err)
	p.Done()
	_, err = l.Acquire(expired(), 10*time.Second)
	require.ErrorIs(t, err, context.Canceled, "the hung request still counts one window after its deadline")
	clock.advance(time.Millisecond)
	_, err = l.Acquire(expired(), 10*time.Second)
	require.NoError(t, err, "the hung request stopped counting one window after its deadline")
}
