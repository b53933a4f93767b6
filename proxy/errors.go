package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
)

// upstreamError answers a failed upstream call: 504 on a timeout, else 502.
// No event is ever fired for it.
func (h *handler) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	attrs := []any{"method", r.Method, "path", r.URL.Path, "err", err}
	switch {
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		h.log.Debug("client went away before the upstream answered", attrs...)
		writeError(w, http.StatusBadGateway, "upstream unavailable")
	case isTimeout(err):
		h.log.Warn("upstream timeout", attrs...)
		writeError(w, http.StatusGatewayTimeout, "upstream timeout")
	default:
		h.log.Warn("upstream unavailable", attrs...)
		writeError(w, http.StatusBadGateway, "upstream unavailable")
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// writeError writes {"error": msg} with the given status.
func writeError(w http.ResponseWriter, status int, msg string) {
	body, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
