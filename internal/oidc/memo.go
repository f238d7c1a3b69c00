package oidc

import (
	"context"

	"github.com/vakt-id/vakt/internal/store"
)

// memo keeps the app and user rows one token request has read: the op
// package asks for the client twice (lookup, then authentication) and
// for the user twice (grant check, then ID token claims), and each
// repeat would be another database round trip on the hot refresh path.
// It lives in the request's context only, so nothing is cached across
// requests.
type memo struct {
	apps  map[string]store.App
	users map[string]store.User
}

type memoKey struct{}

func withMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, memoKey{}, &memo{apps: map[string]store.App{}, users: map[string]store.User{}})
}

func memoFrom(ctx context.Context) *memo {
	m, _ := ctx.Value(memoKey{}).(*memo)
	return m
}

// appByAppID reads an app, once per request.
func (s *storage) appByAppID(ctx context.Context, appID string) (store.App, error) {
	m := memoFrom(ctx)
	if m != nil {
		if a, ok := m.apps[appID]; ok {
			return a, nil
		}
	}
	a, err := s.p.Store.AppByAppID(ctx, s.tenantID, appID)
	if err == nil && m != nil {
		m.apps[appID] = a
	}
	return a, err
}

// user reads a user, once per request.
func (s *storage) user(ctx context.Context, id string) (store.User, error) {
	m := memoFrom(ctx)
	if m != nil {
		if u, ok := m.users[id]; ok {
			return u, nil
		}
	}
	u, err := s.p.Store.GetUser(ctx, s.tenantID, id)
	if err == nil && m != nil {
		m.users[id] = u
	}
	return u, err
}
