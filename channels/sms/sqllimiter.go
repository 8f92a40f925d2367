package sms

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
// counted across all workers (see Limiter for why counting each request
// from its start to one window after its end makes that hold at the
// provider, and what a hung request costs).
//
// Why it exists: the SMS task queue's TaskQueueActivitiesPerSecond is a
// token bucket per task-queue partition (four by default), whose burst is
// the per-partition rate; measured on the dev server at 5/s with two
// workers, 8 SMS reached the stand-in within one second. The server's limit
// keeps the average; this limiter keeps every one-second window.
//
// The requests that still count are kept in one row (table relance_rate_limits, from
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
		return fmt.Errorf("sms: prepare the shared rate limit (is the schema migrated?): %w", err)
	}
	l.ready = true
	return nil
}

// Acquire implements Limiter.
func (l *SQLLimiter) Acquire(ctx context.Context, timeout time.Duration) (*Permit, error) {
	if err := l.init(ctx); err != nil {
		return nil, err
	}
	for {
		// The permit's deadline is measured from before the slot is
		// granted: the row's deadline (the database's clock, read later)
		// is then never earlier than the moment the request is cut off.
		before := time.Now()
		id, delay, err := l.try(ctx, timeout)
		if err != nil {
			return nil, err
		}
		if delay <= 0 {
			return &Permit{Deadline: before.Add(timeout), done: func() { l.done(id) }}, nil
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("sms: waiting for the shared send rate limit: %w", ctx.Err())
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
		return nil, 0, fmt.Errorf("sms: shared rate limit %q: row missing", l.name)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("sms: shared rate limit: %w", err)
	}
	return parseEntries(starts), nowMicros, nil
}

func (l *SQLLimiter) store(ctx context.Context, tx *sql.Tx, ring []entry) error {
	if _, err := tx.ExecContext(ctx, l.q(`UPDATE relance_rate_limits SET starts = $1 WHERE name = $2`), formatEntries(ring), l.name); err != nil {
		return fmt.Errorf("sms: shared rate limit: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sms: shared rate limit: %w", err)
	}
	return nil
}

// try takes a slot if fewer than n requests count, and returns its id, or
// returns how long to wait before trying again.
func (l *SQLLimiter) try(ctx context.Context, timeout time.Duration) (string, time.Duration, error) {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return "", 0, fmt.Errorf("sms: shared rate limit: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	ring, now, err := l.lockRow(ctx, tx)
	if err != nil {
		return "", 0, err
	}
	w := l.window.Microseconds()
	kept := ring[:0]
	delay := int64(-1)
	for _, e := range ring {
		until := e.until(w)
		if until <= now {
			continue // over for more than a window: it no longer counts
		}
		kept = append(kept, e)
		d := until - now
		if e.end == 0 && d > pollInFlight.Microseconds() {
			d = pollInFlight.Microseconds() // it may end at any moment
		}
		if delay < 0 || d < delay {
			delay = d
		}
	}
	ring = kept
	if len(ring) >= l.n {
		if delay < 0 {
			delay = pollInFlight.Microseconds()
		}
		return "", time.Duration(delay) * time.Microsecond, tx.Commit()
	}
	id := newEntryID()
	ring = append(ring, entry{id: id, start: now, deadline: now + timeout.Microseconds()})
	return id, 0, l.store(ctx, tx, ring)
}

// done records the completion of request id. It runs after the request,
// whatever became of the caller's context; if it fails, the entry counts
// until one window after its deadline and the rate is only slower
// meanwhile.
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

// entry is a request that still counts, as stored:
// "id:start:end:deadline" in microseconds, end 0 while in flight.
type entry struct {
	id                   string
	start, end, deadline int64
}

// until is when the entry stops counting: one window after its end, where a
// request never ends later than its deadline.
func (e entry) until(window int64) int64 {
	end := e.deadline
	if e.end != 0 && e.end < end {
		end = e.end
	}
	return end + window
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
		if len(p) != 3 && len(p) != 4 {
			continue // empty, or unreadable: forget it
		}
		var v [3]int64
		ok := true
		for i := 1; i < len(p); i++ {
			n, err := strconv.ParseInt(p[i], 10, 64)
			ok = ok && err == nil
			v[i-1] = n
		}
		if !ok {
			continue
		}
		e := entry{id: p[0], start: v[0], end: v[1], deadline: v[2]}
		if len(p) == 3 {
			// Written by an older worker, which had no deadline: it
			// counted a lost request for legacyInFlight.
			e.deadline = e.start + legacyInFlight.Microseconds()
		}
		out = append(out, e)
	}
	return out
}

func formatEntries(ring []entry) string {
	parts := make([]string, len(ring))
	for i, e := range ring {
		parts[i] = e.id + ":" + strconv.FormatInt(e.start, 10) + ":" + strconv.FormatInt(e.end, 10) + ":" + strconv.FormatInt(e.deadline, 10)
	}
	return strings.Join(parts, ",")
}
