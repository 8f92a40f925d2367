package sms_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/channels/sms"
	"github.com/relance/relance/db"
	"github.com/relance/relance/internal/testkit"
)

// TestSQLLimiterAcrossProcesses: two limiters on one database (two worker
// processes) together let at most n requests start in any one-second
// window. An upper bound only.
func TestSQLLimiterAcrossProcesses(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		const n, total = 4, 12
		sqlDB, err := gdb.DB()
		require.NoError(t, err)
		limiters := []*sms.SQLLimiter{
			sms.NewSQLLimiter(sqlDB, string(db.Of(gdb)), "vonage", n),
			sms.NewSQLLimiter(sqlDB, string(db.Of(gdb)), "vonage", n),
		}
		other := sms.NewSQLLimiter(sqlDB, string(db.Of(gdb)), "other-account", n)
		var mu sync.Mutex
		var starts []time.Time
		var wg sync.WaitGroup
		errs := make(chan error, total+n)
		for i := 0; i < total; i++ {
			wg.Add(1)
			go func(l *sms.SQLLimiter) {
				defer wg.Done()
				p, err := l.Acquire(context.Background(), 10*time.Second)
				// The request: it reaches the provider, then its answer comes.
				mu.Lock()
				starts = append(starts, time.Now())
				mu.Unlock()
				p.Done()
				errs <- err
			}(limiters[i%2])
		}
		// Another account has its own window and does not wait for this one.
		for i := 0; i < n; i++ {
			p, err := other.Acquire(context.Background(), 10*time.Second)
			p.Done()
			errs <- err
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.Len(t, starts, total)
		got := testkit.MaxInWindow(starts, time.Second)
		t.Logf("max starts in a one-second window: %d (limit %d)", got, n)
		require.LessOrEqual(t, got, n)

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = limiters[0].Acquire(ctx, 10*time.Second)
		require.ErrorIs(t, err, context.Canceled)
	})
}

// TestSQLLimiterHungRequestHoldsOneSlot: a request never answered (its
// permit never done, as when its worker died) holds one slot of the shared
// rate until one window after its deadline, and only one: requests through
// another process's limiter go on with the other slots meanwhile.
func TestSQLLimiterHungRequestHoldsOneSlot(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		const n = 2
		sqlDB, err := gdb.DB()
		require.NoError(t, err)
		a := sms.NewSQLLimiter(sqlDB, string(db.Of(gdb)), "vonage", n)
		b := sms.NewSQLLimiter(sqlDB, string(db.Of(gdb)), "vonage", n)
		hung, err := a.Acquire(context.Background(), 30*time.Second)
		require.NoError(t, err)
		starts := []time.Time{time.Now()}
		for i := 0; i < 3; i++ {
			p, err := b.Acquire(context.Background(), 30*time.Second)
			require.NoError(t, err)
			starts = append(starts, time.Now())
			p.Done()
		}
		require.True(t, time.Now().Before(hung.Deadline), "the others waited for the hung request's deadline")
		require.LessOrEqual(t, testkit.MaxInWindow(starts, time.Second), n)
		// Both slots count now (the hung one and the last one done): a
		// request that cannot wait is refused.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = a.Acquire(ctx, 30*time.Second)
		require.ErrorIs(t, err, context.Canceled)
	})
}
