package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// stmtCache keeps one prepared statement per query and pool. Parsing SQL
// is a large part of a small query's cost on the embedded database, and
// the sign-in path runs a few dozen small queries. The cache is bounded:
// queries built per request (list filters) stop being cached once it is
// full and simply run unprepared.
type stmtCache struct {
	mu sync.Mutex
	m  map[stmtKey]*sql.Stmt
	// wanted are writer queries first seen inside a transaction, which
	// cannot prepare them without waiting for its own connection; they
	// are prepared once the transaction is over (prepareWanted).
	wanted map[string]bool
}

type stmtKey struct {
	pool  *sql.DB
	query string
}

const maxCachedStmts = 512

// stmt returns the prepared statement for query, bound to the current
// transaction when there is one, or nil to run the query unprepared.
func (db *DB) stmt(ctx context.Context, pool *sql.DB, query string) *sql.Stmt {
	if !db.d.CacheStatements() {
		return nil
	}
	if db.tx != nil {
		// Inside a transaction everything runs on the writer connection.
		pool = db.w
	}
	k := stmtKey{pool, query}
	c := db.stmts
	c.mu.Lock()
	st, ok := c.m[k]
	full := len(c.m) >= maxCachedStmts
	c.mu.Unlock()
	if !ok {
		// Inside a transaction the pool's connection may be the one the
		// transaction holds (SQLite has one writer): never wait for it.
		if full {
			return nil
		}
		if db.tx != nil {
			c.mu.Lock()
			if c.wanted == nil {
				c.wanted = map[string]bool{}
			}
			c.wanted[query] = true
			c.mu.Unlock()
			return nil
		}
		var err error
		if st, err = pool.PrepareContext(ctx, db.q(query)); err != nil {
			return nil // let the unprepared path report the error
		}
		c.mu.Lock()
		if prev, raced := c.m[k]; raced {
			st.Close()
			st = prev
		} else {
			c.m[k] = st
		}
		c.mu.Unlock()
	}
	if db.tx != nil {
		return db.tx.StmtContext(ctx, st)
	}
	return st
}

// prepareWanted prepares, on the writer, the queries that transactions
// could not prepare. A transaction's statement made from one of them
// (Tx.StmtContext) reuses the driver statement already prepared on the
// writer connection instead of parsing the SQL again.
func (db *DB) prepareWanted(ctx context.Context) {
	c := db.stmts
	c.mu.Lock()
	wanted := c.wanted
	c.wanted = nil
	c.mu.Unlock()
	for q := range wanted {
		// stmt prepares and caches what is missing; its result is not
		// needed here.
		_ = db.stmt(context.WithoutCancel(ctx), db.w, q)
	}
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for k, st := range c.m {
		errs = append(errs, st.Close())
		delete(c.m, k)
	}
	return errors.Join(errs...)
}
