// Package db opens the database (PostgreSQL in production, embedded SQLite by
// default) and runs the versioned migrations.
package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	gosqlite "github.com/glebarez/go-sqlite"
	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names the SQL engine behind a *gorm.DB.
type Dialect string

// Supported dialects.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// DialectOf parses a database URL: postgres:// or postgresql:// for
// PostgreSQL; sqlite://PATH, file:PATH or a bare path for SQLite.
func DialectOf(url string) (Dialect, string, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return Postgres, url, nil
	case strings.HasPrefix(url, "sqlite://"):
		return SQLite, strings.TrimPrefix(url, "sqlite://"), nil
	case strings.HasPrefix(url, "file:"):
		return SQLite, url, nil
	case url == "":
		return "", "", errors.New("database URL is empty")
	case strings.Contains(url, "://"):
		return "", "", fmt.Errorf("database URL %q: unsupported scheme (use postgres:// or sqlite://)", redact(url))
	default:
		return SQLite, url, nil
	}
}

// Open connects to the database named by url and checks the connection.
// SQLite runs with WAL, a busy timeout and foreign keys on, and one writer at
// a time (SQLite serialises writes anyway; one connection avoids SQLITE_BUSY).
func Open(ctx context.Context, url string) (*gorm.DB, error) {
	dialect, dsn, err := DialectOf(url)
	if err != nil {
		return nil, err
	}
	cfg := &gorm.Config{
		NowFunc:                func() time.Time { return time.Now().UTC() },
		Logger:                 logger.Discard,
		TranslateError:         true,
		DisableAutomaticPing:   false,
		SkipDefaultTransaction: true,
	}
	var gdb *gorm.DB
	switch dialect {
	case Postgres:
		pcfg, perr := pgx.ParseConfig(dsn)
		if perr != nil {
			return nil, fmt.Errorf("database URL %s: %w", redact(url), perr)
		}
		// timestamptz values come back in UTC, whatever the process's zone:
		// times are UTC throughout (models), not only in storage.
		sqlDB := stdlib.OpenDB(*pcfg, stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
			c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID,
				Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
			return nil
		}))
		gdb, err = gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), cfg)
	case SQLite:
		path := strings.TrimPrefix(dsn, "file:")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if path != "" && path != ":memory:" && !strings.HasPrefix(path, ":") {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return nil, fmt.Errorf("create folder for sqlite database %s: %w", path, err)
			}
		}
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		dsn += sep + "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"
		if err := registerUnicodeLower(); err != nil {
			return nil, fmt.Errorf("register lower() for sqlite: %w", err)
		}
		gdb, err = gorm.Open(sqlite.Open(dsn), cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	if err := registerPortalCodes(gdb); err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	if dialect == SQLite {
		sqlDB.SetMaxOpenConns(1)
	} else {
		sqlDB.SetMaxOpenConns(DefaultMaxConns)
		sqlDB.SetMaxIdleConns(DefaultMaxConns / 2)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("connect to %s database %s: %w", dialect, redact(url), err)
	}
	return gdb, nil
}

// DefaultMaxConns is the PostgreSQL pool size Open sets.
const DefaultMaxConns = 20

// SetMaxConns resizes a PostgreSQL pool to n connections (half of them kept
// idle); SQLite keeps its one connection.
func SetMaxConns(gdb *gorm.DB, n int) error {
	if Of(gdb) == SQLite || n <= 0 {
		return nil
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return fmt.Errorf("resize the database pool: %w", err)
	}
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(max(n/2, 1))
	return nil
}

// Of reports the dialect of an open database.
func Of(gdb *gorm.DB) Dialect {
	if gdb.Dialector.Name() == "postgres" {
		return Postgres
	}
	return SQLite
}

// Close closes the underlying pool.
func Close(gdb *gorm.DB) error {
	sqlDB, err := gdb.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// redact hides a password in a URL so that errors and logs can show it.
func redact(url string) string {
	at := strings.LastIndexByte(url, '@')
	scheme := strings.Index(url, "://")
	if at < 0 || scheme < 0 {
		return url
	}
	creds := url[scheme+3 : at]
	if i := strings.IndexByte(creds, ':'); i >= 0 {
		return url[:scheme+3] + creds[:i] + ":***" + url[at:]
	}
	return url
}

// registerUnicodeLower replaces SQLite's lower(), which folds ASCII letters
// only, with Go's Unicode case folding, once per process (it applies to the
// connections opened after it). Searches then find "Café l'Étoile" for
// "étoile" or "ÉTOILE" on SQLite as they do on PostgreSQL.
var registerUnicodeLower = sync.OnceValue(func() error {
	return gosqlite.RegisterDeterministicScalarFunction("lower", 1,
		func(_ *gosqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case string:
				return strings.ToLower(v), nil
			case []byte:
				return strings.ToLower(string(v)), nil
			}
			return args[0], nil
		})
})
