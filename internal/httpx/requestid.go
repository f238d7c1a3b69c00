package httpx

import (
	"context"
	"net/http"

	"github.com/google/uuid"
)

// Header names, as Microsoft Graph spells them.
const (
	HeaderRequestID       = "request-id"
	HeaderClientRequestID = "client-request-id"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	clientRequestIDKey
	clientIPKey
)

// RequestID assigns every request a fresh server request id and a client
// request id, stores both in the context and echoes both as response
// headers. The client's client-request-id is kept only if it is a UUID in
// canonical form, so arbitrary client text never reaches logs or headers;
// otherwise one is generated.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqID := uuid.NewString()
		clientID := parseClientRequestID(r.Header.Get(HeaderClientRequestID))
		if clientID == "" {
			clientID = uuid.NewString()
		}
		h := w.Header()
		h.Set(HeaderRequestID, reqID)
		h.Set(HeaderClientRequestID, clientID)

		ctx := context.WithValue(r.Context(), requestIDKey, reqID)
		ctx = context.WithValue(ctx, clientRequestIDKey, clientID)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// parseClientRequestID returns s in lower-case canonical form if it is a
// hyphenated 36-character UUID, else "". uuid.Parse alone would also accept
// the urn: and braced forms.
func parseClientRequestID(s string) string {
	if len(s) != 36 {
		return ""
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return ""
	}
	return u.String()
}

// RequestIDFrom returns the server request id, or "" outside RequestID.
func RequestIDFrom(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey).(string)
	return s
}

// ClientRequestIDFrom returns the client request id, or "" outside
// RequestID.
func ClientRequestIDFrom(ctx context.Context) string {
	s, _ := ctx.Value(clientRequestIDKey).(string)
	return s
}
