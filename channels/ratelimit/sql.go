package ratelimit

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SQLLimiter is the Limiter shared by every process that uses the same
// database: at most N requests reach the provider in any one-second window,
// counted across all workers (see Limiter for how completions make that
// hold at the provider).
//
// Why it exists (first for SMS): the SMS task queue's TaskQueueActivitiesPerSecond is a
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
	n = max(n, 1)
	return &SQLLimiter{db: db, postgres: dialect == "postgres", name: name, n: n, window: window, now: time.Now}
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
		return fmt.Errorf("rate limit %q: prepare the shared rate limit (is the schema migrated?): %w", l.name, err)
	}
	l.ready = true
	return nil
}

// Wait implements Limiter.
func (l *SQLLimiter) Wait(ctx context.Context) (func(), error) {
	noop := func() {}
	if err := l.init(ctx); err != nil {
		return noop, err
	}
	for {
		id, delay, err := l.try(ctx)
		if err != nil {
			return noop, err
		}
		if delay <= 0 {
			return func() { l.done(id) }, nil
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return noop, fmt.Errorf("rate limit %q: waiting for the shared send rate limit: %w", l.name, ctx.Err())
		case <-timer.C:
		}
	}
}

// lockRow reads the account's row under lock, with the clock to use: the
// database's on PostgreSQL, so that workers whose clocks differ agree.
func (l *SQLLimiter) lockRow(ctx context.Context, tx *sql.Tx) ([]entry, int64, error) {
	var starts string
	var nowMicros int64
	var err error
	if l.postgres {
		err = tx.QueryRowContext(ctx, `SELECT starts, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint FROM relance_rate_limits WHERE name = $1 FOR UPDATE`, l.name).Scan(&starts, &nowMicros)
	} else {
		err = tx.QueryRowContext(ctx, `SELECT starts FROM relance_rate_limits WHERE name = ?`, l.name).Scan(&starts)
		nowMicros = l.now().UnixMicro()
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, fmt.Errorf("shared rate limit %q: row missing", l.name)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("rate limit %q: shared rate limit: %w", l.name, err)
	}
	return parseEntries(starts), nowMicros, nil
}

func (l *SQLLimiter) store(ctx context.Context, tx *sql.Tx, ring []entry) error {
	if _, err := tx.ExecContext(ctx, l.q(`UPDATE relance_rate_limits SET starts = $1 WHERE name = $2`), formatEntries(ring), l.name); err != nil {
		return fmt.Errorf("rate limit %q: shared rate limit: %w", l.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("rate limit %q: shared rate limit: %w", l.name, err)
	}
	return nil
}

// try takes a slot if one is free and returns its id, or returns how long
// to wait before trying again.
func (l *SQLLimiter) try(ctx context.Context) (string, time.Duration, error) {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return "", 0, fmt.Errorf("rate limit %q: shared rate limit: %w", l.name, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	ring, now, err := l.lockRow(ctx, tx)
	if err != nil {
		return "", 0, err
	}
	if len(ring) >= l.n {
		// ring is oldest first: the n-th request before this one.
		e := ring[len(ring)-l.n]
		end := e.end
		if end == 0 && now-e.start >= MaxInFlight.Microseconds() {
			end = e.start + MaxInFlight.Microseconds() // its done never came
		}
		if end == 0 {
			return "", pollInFlight, tx.Commit()
		}
		if wait := end + l.window.Microseconds() - now; wait > 0 {
			return "", time.Duration(wait) * time.Microsecond, tx.Commit()
		}
	}
	id := newEntryID()
	ring = append(ring, entry{id: id, start: now})
	if len(ring) > l.n {
		ring = ring[len(ring)-l.n:]
	}
	return id, 0, l.store(ctx, tx, ring)
}

// done records the completion of request id. It runs after the request,
// whatever became of the caller's context; if it fails, the entry expires
// after MaxInFlight and the window is only slower meanwhile.
func (l *SQLLimiter) done(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	ring, now, err := l.lockRow(ctx, tx)
	if err != nil {
		return
	}
	for i := range ring {
		if ring[i].id == id && ring[i].end == 0 {
			ring[i].end = now
			_ = l.store(ctx, tx, ring)
			return
		}
	}
}

// entry is one of the last n requests, as stored: "id:start:end" in
// microseconds, end 0 while in flight.
type entry struct {
	id         string
	start, end int64
}

func newEntryID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func parseEntries(s string) []entry {
	var out []entry
	for _, f := range strings.Split(s, ",") {
		p := strings.Split(f, ":")
		if len(p) != 3 {
			continue // empty, or an older format: forget it
		}
		start, err1 := strconv.ParseInt(p[1], 10, 64)
		end, err2 := strconv.ParseInt(p[2], 10, 64)
		if err1 == nil && err2 == nil {
			out = append(out, entry{id: p[0], start: start, end: end})
		}
	}
	return out
}

func formatEntries(ring []entry) string {
	parts := make([]string, len(ring))
	for i, e := range ring {
		parts[i] = e.id + ":" + strconv.FormatInt(e.start, 10) + ":" + strconv.FormatInt(e.end, 10)
	}
	return strings.Join(parts, ",")
}
