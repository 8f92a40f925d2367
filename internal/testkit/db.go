// Package testkit gives tests real components: a fresh PostgreSQL database
// on the server DATABASE_URL names, an SQLite file, and a Temporal dev
// server started from the pinned CLI.
package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	ctx := context.Background()
	base := PostgresURL()
	admin, err := db.Open(ctx, base)
	require.NoError(t, err, "PostgreSQL at %s (set DATABASE_URL)", base)
	name := "relance_test_" + randomSuffix()
	require.NoError(t, admin.Exec("CREATE DATABASE "+name).Error)
	u, err := url.Parse(base)
	require.NoError(t, err)
	u.Path = "/" + name
	gdb, err := db.Open(ctx, u.String())
	require.NoError(t, err)
	require.NoError(t, db.Migrate(gdb))
	t.Cleanup(func() {
		_ = db.Close(gdb)
		admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		_ = db.Close(admin)
	})
	return gdb, u.String()
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
