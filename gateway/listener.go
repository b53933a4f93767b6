package gateway

import (
	"net/http"
)

// Server returns the public listener's HTTP server with the gateway's routes. It bounds
// only what a client can stall without a purpose: sending request headers
// (--read-header-timeout) and keeping an idle keep-alive connection (--idle-timeout).
// There is no ReadTimeout or WriteTimeout: websockets, long-polling requests and streamed
// API responses outlive any fixed bound, and a hijacked (websocket) connection is no
// longer subject to either timeout.
func (g *Gateway) Server() *http.Server {
	return &http.Server{
		Handler:           g.Handler(),
		ReadHeaderTimeout: g.cfg.ReadHeaderTimeout,
		IdleTimeout:       g.cfg.IdleTimeout,
	}
}
