// Package sqlite opens vakt's embedded store: a pure-Go SQLite database in
// WAL mode with one writer connection and a pool of readers.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Open opens (creating if needed) the database file at path and runs the
// migrations. SQLite allows one writer at a time, so writes go through a
// single connection whose transactions start IMMEDIATE (no upgrade
// deadlocks); reads use a pool and see committed data through WAL.
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	// The database holds password hashes and sealed secrets: create it
	// readable by its owner only (SQLite gives -wal and -shm its mode).
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	} else {
		f.Close()
	}
	w, err := openPool(path, 1, "immediate")
	if err != nil {
		return nil, err
	}
	if err := Migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := openPool(path, max(4, runtime.GOMAXPROCS(0)*2), "deferred")
	if err != nil {
		w.Close()
		return nil, err
	}
	return sqlstore.New(w, r, dialect{}), nil
}

func openPool(path string, conns int, txlock string) (*sql.DB, error) {
	v := url.Values{}
	v.Add("_pragma", "busy_timeout(10000)")
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "foreign_keys(1)")
	v.Add("_pragma", "synchronous(NORMAL)")
	v.Set("_txlock", txlock)
	db, err := sql.Open("sqlite", "file:"+path+"?"+v.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(0)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return db, nil
}

// Migrate runs the embedded migrations up to the newest version.
func Migrate(ctx context.Context, db *sql.DB) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate sqlite: %w", err)
	}
	return nil
}

type dialect struct{}

func (dialect) Name() string           { return "sqlite" }
func (dialect) Rebind(q string) string { return q }

func (dialect) Lock(context.Context, *sql.Tx, string) error { return nil }
func (dialect) ForUpdate() string                           { return "" }
func (dialect) CacheStatements() bool                       { return true }

func (dialect) MapError(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", store.ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %v", store.ErrInvalid, err)
		}
	}
	return err
}
