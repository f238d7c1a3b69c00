package app

import (
	"context"
	"net"

	"github.com/vakt-id/vakt/internal/radius"
)

// RADIUSClients manages the RADIUS clients (VPN gateways) of tenants.
func (a *App) RADIUSClients() *radius.Clients {
	return &radius.Clients{Store: a.Store, Keys: a.Keys}
}

// NewRADIUS builds the RADIUS server over the sign-in engine; its metrics
// join the app's registry, so build one per app.
func (a *App) NewRADIUS() *radius.Server {
	return &radius.Server{Engine: a.SignIn, Clients: a.Store, Keys: a.Keys, Metrics: a.Metrics, Log: a.Log}
}

// ServeRADIUS answers RADIUS on conn until ctx ends, then lets requests
// in flight finish within the HTTP shutdown timeout.
func (a *App) ServeRADIUS(ctx context.Context, conn net.PacketConn) error {
	return a.NewRADIUS().Serve(ctx, conn, a.Config.HTTP.ShutdownTimeout)
}
