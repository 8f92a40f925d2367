package sms

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limiter decides when the next request to Vonage may start. Wait blocks
// until it may, or returns ctx's error.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Wait lets the in-process limiter serve as a Limiter.
func (l *slidingLimiter) Wait(ctx context.Context) error { return l.wait(ctx) }

// SQLLimiter is a sliding-window limiter shared by every process that uses
// the same database: at most N requests start in any window of one second
// (plus the provider-side margin), counted across all workers.
//
// Why it exists: the SMS task queue's TaskQueueActivitiesPerSecond is a
// token bucket per task-queue partition (four by default), whose burst is
// the per-partition rate; measured on the dev server at 5/s with two
// workers, 8 SMS reached the stand-in within one second. The server's limit
// keeps the average; this limiter keeps every one-second window.
//
// The window's starts are kept in one row (table relance_rate_limits, from
// the schema migrations), read and written under a row lock; on PostgreSQL
// the instants come from the database's clock, so workers on machines
// whose clocks differ still agree.
type SQLLimiter struct {
	db       *sql.DB
	postgres bool
	name     string
	n        int
	window   time.Duration
	now      func() time.Time // SQLite: one machine, the process clock

	mu    sync.Mutex
	ready bool // the table and row exist
}

// NewSQLLimiter returns a limiter of n requests per second named name (one
// per provider account) on db; dialect is "postgres" or "sqlite".
func NewSQLLimiter(db *sql.DB, dialect, name string, n int) *SQLLimiter {
	if n <= 0 {
		n = DefaultRatePerSecond
	}
	return &SQLLimiter{db: db, postgres: dialect == "postgres", name: name, n: n, window: time.Second + windowMargin, now: time.Now}
}

func (l *SQLLimiter) q(query string) string {
	if l.postgres {
		return query
	}
	// SQLite: positional ? placeholders, no row locks (the transaction
	// takes the database's write lock).
	query = strings.ReplaceAll(query, " FOR UPDATE", "")
	for i := 3; i >= 1; i-- {
		query = strings.ReplaceAll(query, "$"+strconv.Itoa(i), "?")
	}
	return query
}

func (l *SQLLimiter) init(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ready {
		return nil
	}
	// The table comes from the schema migrations (db/migrate.go); each
	// account's row is created on first use.
	if _, err := l.db.ExecContext(ctx, l.q(`INSERT INTO relance_rate_limits (name, starts) VALUES ($1, '') ON CONFLICT (name) DO NOTHING`), l.name); err != nil {
		return fmt.Errorf("sms: prepare the shared rate limit (is the schema migrated?): %w", err)
	}
	l.ready = true
	return nil
}

// Wait blocks until a request may start and records its start.
func (l *SQLLimiter) Wait(ctx context.Context) error {
	if err := l.init(ctx); err != nil {
		return err
	}
	for {
		delay, err := l.try(ctx)
		if err != nil {
			return err
		}
		if delay <= 0 {
			return nil
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("sms: waiting for the shared send rate limit: %w", ctx.Err())
		case <-timer.C:
		}
	}
}

// try takes a slot if the window has one and returns 0, or returns how long
// to wait before trying again.
func (l *SQLLimiter) try(ctx context.Context) (time.Duration, error) {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sms: shared rate limit: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var starts string
	var nowMicros int64
	if l.postgres {
		err = tx.QueryRowContext(ctx, `SELECT starts, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint FROM relance_rate_limits WHERE name = $1 FOR UPDATE`, l.name).Scan(&starts, &nowMicros)
	} else {
		err = tx.QueryRowContext(ctx, `SELECT starts FROM relance_rate_limits WHERE name = ?`, l.name).Scan(&starts)
		nowMicros = l.now().UnixMicro()
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("sms: shared rate limit %q: row missing", l.name)
	}
	if err != nil {
		return 0, fmt.Errorf("sms: shared rate limit: %w", err)
	}
	ring := parseStarts(starts)
	windowMicros := l.window.Microseconds()
	if len(ring) >= l.n {
		// ring is oldest first; the n-th start before this one.
		oldest := ring[len(ring)-l.n]
		if wait := oldest + windowMicros - nowMicros; wait > 0 {
			return time.Duration(wait) * time.Microsecond, tx.Commit()
		}
	}
	ring = append(ring, nowMicros)
	if len(ring) > l.n {
		ring = ring[len(ring)-l.n:]
	}
	if _, err := tx.ExecContext(ctx, l.q(`UPDATE relance_rate_limits SET starts = $1 WHERE name = $2`), formatStarts(ring), l.name); err != nil {
		return 0, fmt.Errorf("sms: shared rate limit: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sms: shared rate limit: %w", err)
	}
	return 0, nil
}

func parseStarts(s string) []int64 {
	var out []int64
	for _, f := range strings.Split(s, ",") {
		if v, err := strconv.ParseInt(f, 10, 64); err == nil {
			out = append(out, v)
		}
	}
	return out
}

func formatStarts(ring []int64) string {
	parts := make([]string, len(ring))
	for i, v := range ring {
		parts[i] = strconv.FormatInt(v, 10)
	}
	return strings.Join(parts, ",")
}
