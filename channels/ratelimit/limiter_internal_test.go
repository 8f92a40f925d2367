package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLimiterCountsRequestsUntilDone: a request still waiting for its answer
// holds its slot, however long ago it started; the next may go one window
// after it is done.
func TestLimiterCountsRequestsUntilDone(t *testing.T) {
	l := newSlidingLimiter(2, 50*time.Millisecond)
	done1, err := l.Wait(context.Background())
	require.NoError(t, err)
	done2, err := l.Wait(context.Background())
	require.NoError(t, err)

	// Both in flight: a third waits, even well past the window.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = l.Wait(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	done1()
	doneAt := time.Now()
	done3, err := l.Wait(context.Background())
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(doneAt), 50*time.Millisecond, "one window after the oldest was done")
	done2()
	done3()
	done1() // a second call changes nothing
}

// TestLimiterForgetsALostRequest: a request whose done never comes (its
// worker died) stops counting after MaxInFlight.
func TestLimiterForgetsALostRequest(t *testing.T) {
	t0 := time.Now()
	clock := t0
	l := newSlidingLimiter(1, time.Second)
	l.now = func() time.Time { return clock }
	_, err := l.Wait(context.Background()) // never done
	require.NoError(t, err)

	clock = t0.Add(MaxInFlight + time.Second + time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	done, err := l.Wait(ctx)
	require.NoError(t, err, "the lost request expired at MaxInFlight, and a window has passed")
	done()
}
