package sms

import (
	"database/sql"

	"github.com/relance/relance/channels/ratelimit"
)

// The SMS rate limit is the shared mechanism of package ratelimit (the
// email channel uses it too); these names keep the SMS package's API.
type (
	// Limiter decides when the next request to Vonage may start.
	Limiter = ratelimit.Limiter
	// SQLLimiter is the limiter shared by every worker on one database.
	SQLLimiter = ratelimit.SQLLimiter
)

// MaxInFlight bounds how long a request without an answer counts.
const MaxInFlight = ratelimit.MaxInFlight

// NewSQLLimiter returns a limiter of n requests per second named name (one
// per provider account) on db; dialect is "postgres" or "sqlite". n <= 0
// means DefaultRatePerSecond.
func NewSQLLimiter(db *sql.DB, dialect, name string, n int) *SQLLimiter {
	if n <= 0 {
		n = DefaultRatePerSecond
	}
	return ratelimit.NewSQLLimiter(db, dialect, name, n)
}
