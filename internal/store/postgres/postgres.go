// Package postgres opens vakt's PostgreSQL store through a pgx pool.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tune the pool.
type Options struct {
	// Schema, when set, is created if missing and used as search_path;
	// tests use one schema each so they can run in parallel.
	Schema   string
	MaxConns int32
}

// Open connects, runs migrations and returns the store. The database/sql
// adapter sits on a pgxpool, so the shared SQL implementation runs on
// pgx's connection pool and protocol.
func Open(ctx context.Context, dsn string, opt Options) (*sqlstore.DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse database url: %w", err)
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	}
	if opt.Schema != "" {
		if err := createSchema(ctx, cfg.ConnConfig.Copy(), opt.Schema); err != nil {
			return nil, err
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = opt.Schema
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := Migrate(ctx, db); err != nil {
		db.Close()
		pool.Close()
		return nil, err
	}
	return sqlstore.New(db, db, dialect{}, func() error { pool.Close(); return nil }), nil
}

func createSchema(ctx context.Context, cc *pgx.ConnConfig, schema string) error {
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return fmt.Errorf("postgres: create schema: %w", err)
	}
	return nil
}

// DropSchema removes a schema and everything in it (tests clean up with it).
func DropSchema(ctx context.Context, dsn, schema string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	return err
}

// Migrate runs the embedded migrations up to the newest version.
func Migrate(ctx context.Context, db *sql.DB) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	// Several nodes may start at once: a session advisory lock lets one
	// migrate while the others wait.
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate postgres: %w", err)
	}
	return nil
}

type dialect struct{}

func (dialect) Name() string           { return "postgres" }
func (dialect) Rebind(q string) string { return sqlstore.RebindDollar(q) }
func (dialect) ForUpdate() string      { return " FOR UPDATE" }
func (dialect) CacheStatements() bool  { return false }

// Lock takes a transaction-scoped advisory lock on key, so read-check-write
// sequences on several nodes are serialised.
func (dialect) Lock(ctx context.Context, tx *sql.Tx, key string) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "vakt:"+key); err != nil {
		return fmt.Errorf("lock %s: %w", key, err)
	}
	return nil
}

func (dialect) MapError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return fmt.Errorf("%w: %s", store.ErrConflict, pe.Message)
		case "23503":
			return fmt.Errorf("%w: %s", store.ErrInvalid, pe.Message)
		case "22021", "22P05":
			// NUL bytes or invalid UTF-8: text PostgreSQL cannot hold.
			return fmt.Errorf("%w: %s", store.ErrInvalid, pe.Message)
		}
	}
	return err
}
