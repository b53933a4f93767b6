package gateway

import (
	"context"
	_ "embed"
	"encoding/json"
	"net/http"
	"os"
	"time"

	"github.com/syncgate/syncgate/namespaces"
)

// The status page (admin listener, GET /status) shows nodes, connections per transport,
// orgs with sockets and event rates; it polls GET /v1/status. No build step, no assets.

//go:embed status.html
var statusPage []byte

// Status is this node's summary, with the other nodes when Redis is in use.
type Status struct {
	Node        string                `json:"node"`
	Started     time.Time             `json:"started"`
	Ready       readiness             `json:"readiness"`
	Connections map[string]int        `json:"connections"`
	Orgs        int                   `json:"orgs"`
	Broadcasts  int64                 `json:"broadcasts"`
	Deliveries  int64                 `json:"deliveries"`
	Resyncs     int64                 `json:"resyncs"`
	Unmatched   int                   `json:"unmatched_shapes"`
	Nodes       []namespaces.NodeInfo `json:"nodes,omitempty"`
}

func (g *Gateway) status(ctx context.Context) Status {
	st := g.sio.Stats()
	host, _ := os.Hostname()
	s := Status{
		Node:        host,
		Started:     g.started,
		Ready:       g.readiness(),
		Connections: g.sio.CountByTransport(),
		Orgs:        len(g.sio.Namespaces()),
		Broadcasts:  st.Broadcasts.Load(),
		Deliveries:  st.Deliveries.Load(),
		Resyncs:     st.Resyncs.Load(),
		Unmatched:   len(g.Unmatched()),
	}
	if ra, ok := g.sio.Adapter().(*namespaces.RedisAdapter); ok {
		s.Node = ra.NodeID()
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		s.Nodes, _ = ra.Nodes(ctx)
	}
	return s
}

// announce keeps this node listed in Redis while the gateway runs.
func (g *Gateway) announce(ctx context.Context) {
	ra, ok := g.sio.Adapter().(*namespaces.RedisAdapter)
	if !ok {
		return
	}
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		actx, cancel := context.WithTimeout(ctx, time.Second)
		_ = ra.Announce(actx, namespaces.NodeInfo{Connections: g.sio.CountByTransport(), Orgs: len(g.sio.Namespaces())})
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (g *Gateway) statusJSON(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(g.status(r.Context()))
}

func (g *Gateway) statusHTML(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
	_, _ = w.Write(statusPage)
}
