package app

import (
	"context"
	"net"

	"github.com/vakt-id/vakt/internal/config"
	"github.com/vakt-id/vakt/internal/radius"
)

// RADIUSClients manages the RADIUS clients (VPN gateways) of tenants.
func (a *App) RADIUSClients() *radius.Clients {
	return &radius.Clients{Store: a.Store, Keys: a.Keys}
}

// NewRADIUS builds the RADIUS server over the sign-in engine; its metrics
// join the app's registry, so build one per app. The engine holds a
// request for a push unless radiusPush.mode is "code".
func (a *App) NewRADIUS() *radius.Server {
	s := &radius.Server{Engine: a.SignIn, Clients: a.Store, Keys: a.Keys, Metrics: a.Metrics, Log: a.Log,
		PushTimeout: a.Config.RadiusPush.Timeout}
	if a.SignIn.Push != nil && a.Config.RadiusPush.Mode != config.RadiusPushCode {
		s.Push = a.SignIn
	}
	return s
}

// ServeRADIUS answers RADIUS on conn until ctx ends, then lets requests
// in flight finish within the HTTP shutdown timeout.
func (a *App) ServeRADIUS(ctx context.Context, conn net.PacketConn) error {
	return a.NewRADIUS().Serve(ctx, conn, a.Config.HTTP.ShutdownTimeout)
}
