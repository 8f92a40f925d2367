package email_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/channels/email"
	"github.com/relance/relance/channels/sms"
	"github.com/relance/relance/db"
	"github.com/relance/relance/internal/testkit"
)

// TestEmailRateLimitAcrossWorkers: two senders (two worker processes) with
// the shared limiter of 3 per second on one database deliver 12 emails, and
// the SMTP server never accepts more than 3 in any one-second window; an
// account of its own is not held by this one.
func TestEmailRateLimitAcrossWorkers(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		const n, total = 3, 12
		sink := startSink(t, nil)
		sqlDB, err := gdb.DB()
		require.NoError(t, err)
		senders := make([]*email.Sender, 2)
		for i := range senders {
			senders[i] = newSender(t, sink.Addr(), func(c *email.Config) {
				c.Limiter = sms.NewSQLLimiter(sqlDB, string(db.Of(gdb)), "smtp", n)
			})
		}
		var wg sync.WaitGroup
		errs := make(chan error, total)
		for i := range total {
			wg.Go(func() {
				_, err := senders[i%2].SendEmail(context.Background(), reminder(fmt.Sprintf("invoice:1:RL-%d/0/email", i)))
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		msgs := sink.Messages()
		require.Len(t, msgs, total, "every email delivered once")
		var at []time.Time
		for _, m := range msgs {
			at = append(at, m.Received)
		}
		got := testkit.MaxInWindow(at, time.Second)
		t.Logf("most emails accepted in one second: %d (limit %d)", got, n)
		require.LessOrEqual(t, got, n)
		require.GreaterOrEqual(t, at[len(at)-1].Sub(at[0]), time.Duration(total/n-1)*time.Second, "12 at 3/s take at least 3 s")

		// A cancelled send waits for nothing and sends nothing.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = senders[0].SendEmail(ctx, reminder("invoice:1:RL-cancelled/0/email"))
		require.ErrorIs(t, err, context.Canceled)
		require.Len(t, sink.Messages(), total)
	})
}
