// Package testkit gives tests real components: a fresh PostgreSQL database
// on the server DATABASE_URL names, an SQLite file, and a Temporal dev
// server started from the pinned CLI.
package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/db"
)

// DefaultPostgresURL is the local server the Makefile points at.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// PostgresURL is the server the tests use: DATABASE_URL when it names a
// PostgreSQL server, else the local one.
func PostgresURL() string {
	if u := os.Getenv("DATABASE_URL"); strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://") {
		return u
	}
	return DefaultPostgresURL
}

// Postgres creates a fresh, migrated database for the test on the server of
// PostgresURL and drops it afterwards. A missing server fails the test: the
// store tests are part of make test, not optional.
func Postgres(t testing.TB) *gorm.DB {
	t.Helper()
	gdb, _ := PostgresWithURL(t)
	return gdb
}

// PostgresWithURL is Postgres that also returns the database's URL, for
// tests that hand the database to another process (a `relance worker` they
// start and kill).
func PostgresWithURL(t testing.TB) (*gorm.DB, string) {
	t.Helper()
	base := PostgresURL()
	name := "relance_test_" + randomSuffix()
	require.NoError(t, onServer(base, "CREATE DATABASE "+name), "PostgreSQL at %s (set DATABASE_URL)", base)
	u, err := url.Parse(base)
	require.NoError(t, err)
	u.Path = "/" + name
	gdb, err := openPatiently(u.String())
	require.NoError(t, err)
	require.NoError(t, db.Migrate(gdb))
	t.Cleanup(func() {
		_ = db.Close(gdb)
		if err := onServer(base, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	return gdb, u.String()
}

// onServer runs one statement on the server's maintenance database and
// closes its connection at once: a test holds no connection it does not use,
// since the machine's server is shared by every suite running at once.
func onServer(base, stmt string) error {
	admin, err := openPatiently(base)
	if err != nil {
		return err
	}
	defer db.Close(admin)
	return admin.Exec(stmt).Error
}

// openPatiently opens a database, waiting (up to Patience) while the server
// refuses new connections because all its slots are taken (SQLSTATE 53300,
// too many clients): other suites on the same machine release theirs soon.
func openPatiently(dsn string) (*gorm.DB, error) {
	deadline := time.Now().Add(Patience)
	for {
		gdb, err := db.Open(context.Background(), dsn)
		if err == nil || !tooManyClients(err) || time.Now().After(deadline) {
			return gdb, err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func tooManyClients(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "53300"
	}
	return strings.Contains(err.Error(), "SQLSTATE 53300")
}

// SQLite creates a migrated SQLite database in a temporary folder.
func SQLite(t testing.TB) *gorm.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "relance.db")
	gdb, err := db.Open(context.Background(), "sqlite://"+path)
	require.NoError(t, err)
	require.NoError(t, db.Migrate(gdb))
	t.Cleanup(func() { _ = db.Close(gdb) })
	return gdb
}

// EachDB runs f against PostgreSQL and SQLite, as subtests.
func EachDB(t *testing.T, f func(t *testing.T, gdb *gorm.DB)) {
	t.Helper()
	t.Run("postgres", func(t *testing.T) { f(t, Postgres(t)) })
	t.Run("sqlite", func(t *testing.T) { f(t, SQLite(t)) })
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%d_%s", time.Now().Unix(), hex.EncodeToString(b[:]))
}
