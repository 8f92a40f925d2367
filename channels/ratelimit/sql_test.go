package ratelimit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/channels/ratelimit"
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
		limiters := []*ratelimit.SQLLimiter{
			ratelimit.NewSQLLimiter(sqlDB, string(db.Of(gdb)), "vonage", n),
			ratelimit.NewSQLLimiter(sqlDB, string(db.Of(gdb)), "vonage", n),
		}
		other := ratelimit.NewSQLLimiter(sqlDB, string(db.Of(gdb)), "other-account", n)
		var mu sync.Mutex
		var starts []time.Time
		var wg sync.WaitGroup
		errs := make(chan error, total+n)
		for i := 0; i < total; i++ {
			wg.Add(1)
			go func(l *ratelimit.SQLLimiter) {
				defer wg.Done()
				done, err := l.Wait(context.Background())
				// The request: it reaches the provider, then its answer comes.
				mu.Lock()
				starts = append(starts, time.Now())
				mu.Unlock()
				done()
				errs <- err
			}(limiters[i%2])
		}
		// Another account has its own window and does not wait for this one.
		for i := 0; i < n; i++ {
			done, err := other.Wait(context.Background())
			done()
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
		_, err = limiters[0].Wait(ctx)
		require.ErrorIs(t, err, context.Canceled)
	})
}
