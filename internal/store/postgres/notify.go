package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Listen holds a dedicated connection (outside the pool, so listening
// never takes a pooled connection away from queries) that LISTENs on
// channel and hands each payload to fn, until ctx ends or the
// connection fails. The connection settings are borrowed from the pool.
func (dialect) Listen(ctx context.Context, db *sql.DB, channel string, ready func(), fn func(payload string)) error {
	var cfg *pgx.ConnConfig
	pooled, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	err = pooled.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("listen: not a pgx connection")
		}
		cfg = sc.Conn().Config().Copy()
		// The copy still routes notifications to the pooled connection;
		// the new connection must buffer its own.
		cfg.OnNotification = nil
		return nil
	})
	pooled.Close()
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if ready != nil {
		ready()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("listen: %w", err)
		}
		if n != nil {
			fn(n.Payload)
		}
	}
}
