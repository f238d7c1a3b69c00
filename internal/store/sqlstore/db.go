// Package sqlstore implements store.Store once, in portable SQL, for every
// SQL backend vakt supports. The sqlite and postgres packages open their
// databases, run their own migrations and hand a Dialect to New.
//
// One implementation instead of two keeps the behaviour of both backends
// identical by construction; the storetest conformance suite then checks
// the dialect-specific parts (types, errors, locking) on both.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vakt-id/vakt/internal/store"
)

// Dialect is what differs between SQL backends.
type Dialect interface {
	// Name is "sqlite" or "postgres".
	Name() string
	// Rebind turns a query written with ? placeholders into the dialect's.
	Rebind(query string) string
	// MapError turns driver errors into store sentinels (ErrConflict for
	// unique violations, ErrInvalid for foreign-key violations) or returns
	// the error unchanged.
	MapError(err error) error
	// Lock takes a lock on key for the rest of tx, so that concurrent
	// read-check-write sequences (group cycles, per-user limits) are
	// serialised across nodes. SQLite's single writer needs nothing.
	Lock(ctx context.Context, tx *sql.Tx, key string) error
	// ForUpdate is appended to the read of a read-modify-write so that a
	// concurrent writer waits instead of overwriting ("" where the
	// database already serialises writers).
	ForUpdate() string
	// CacheStatements: vakt keeps prepared statements itself (SQLite);
	// false where the driver already does (pgx).
	CacheStatements() bool
}

// DB is the SQL store. The zero value is not usable; call New.
type DB struct {
	w, r    *sql.DB // writer and reader pools (the same pool on PostgreSQL)
	d       Dialect
	tx      *sql.Tx // set on the copy bound to a transaction
	rebinds *sync.Map
	stmts   *stmtCache
	closers []func() error
}

// New builds a store over a writer pool and a reader pool; pass the same
// pool twice when the database has no single-writer rule. closers run on
// Close after the pools are closed.
func New(w, r *sql.DB, d Dialect, closers ...func() error) *DB {
	return &DB{w: w, r: r, d: d, rebinds: new(sync.Map), stmts: &stmtCache{m: map[stmtKey]*sql.Stmt{}}, closers: closers}
}

var _ store.Store = (*DB)(nil)

// Dialect returns the store's dialect name.
func (db *DB) Dialect() string { return db.d.Name() }

// Close closes the pools.
func (db *DB) Close() error {
	if db.tx != nil {
		return errors.New("sqlstore: Close called inside a transaction")
	}
	errs := []error{db.stmts.close(), db.w.Close()}
	if db.r != db.w {
		errs = append(errs, db.r.Close())
	}
	for _, c := range db.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// Ping checks both pools.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.w.PingContext(ctx); err != nil {
		return fmt.Errorf("ping writer: %w", err)
	}
	if err := db.r.PingContext(ctx); err != nil {
		return fmt.Errorf("ping reader: %w", err)
	}
	return nil
}

// InTx runs fn in one transaction. Nested calls join the outer one.
func (db *DB) InTx(ctx context.Context, fn func(store.Store) error) error {
	return db.inTx(ctx, func(t *DB) error { return fn(t) })
}

func (db *DB) inTx(ctx context.Context, fn func(*DB) error) (err error) {
	if db.tx != nil {
		return fn(db)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", db.d.MapError(err))
	}
	bound := *db
	bound.tx = tx
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(&bound); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", db.d.MapError(err))
	}
	if db.d.CacheStatements() {
		db.prepareWanted(ctx)
	}
	return nil
}

// q rebinds a query once and caches it.
func (db *DB) q(query string) string {
	if v, ok := db.rebinds.Load(query); ok {
		return v.(string)
	}
	out := db.d.Rebind(query)
	db.rebinds.Store(query, out)
	return out
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (db *DB) reader() querier {
	if db.tx != nil {
		return db.tx
	}
	return db.r
}

func (db *DB) writer() querier {
	if db.tx != nil {
		return db.tx
	}
	return db.w
}

func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	var err error
	if st := db.stmt(ctx, db.w, query); st != nil {
		res, err = st.ExecContext(ctx, args...)
	} else {
		res, err = db.writer().ExecContext(ctx, db.q(query), args...)
	}
	if err != nil {
		return nil, db.d.MapError(err)
	}
	return res, nil
}

// execOne runs a statement that must touch exactly one row.
func (db *DB) execOne(ctx context.Context, query string, args ...any) error {
	res, err := db.exec(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	var rows *sql.Rows
	var err error
	if st := db.stmt(ctx, db.r, query); st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = db.reader().QueryContext(ctx, db.q(query), args...)
	}
	if err != nil {
		return nil, db.d.MapError(err)
	}
	return rows, nil
}

func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := db.stmt(ctx, db.r, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.reader().QueryRowContext(ctx, db.q(query), args...)
}

// notFound maps sql.ErrNoRows to store.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// Times are stored as microseconds since the Unix epoch in both dialects:
// one integer type compares, sorts and pages identically everywhere.
func toMicros(t time.Time) int64 { return t.UTC().UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: toMicros(*t), Valid: true}
}

func fromNullMicros(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMicros(n.Int64)
	return &t
}

// RebindDollar rewrites ? placeholders as $1, $2, … for PostgreSQL. vakt's
// queries never contain a literal question mark.
func RebindDollar(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// queryRowWrite runs a row-returning write (INSERT … RETURNING) on the
// writer.
func (db *DB) queryRowWrite(ctx context.Context, query string, args ...any) *sql.Row {
	if st := db.stmt(ctx, db.w, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.writer().QueryRowContext(ctx, db.q(query), args...)
}

func nullBool(b *bool) sql.NullBool {
	if b == nil {
		return sql.NullBool{}
	}
	return sql.NullBool{Bool: *b, Valid: true}
}
