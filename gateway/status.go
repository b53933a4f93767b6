package gateway

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/syncgate/syncgate/fanout"
	"github.com/syncgate/syncgate/namespaces"
)

// The status page (admin listener, GET /status) shows this node (readiness, connections,
// the orgs with sockets, events/s, the last trigger reload, Redis) and, with Redis, every
// node that announced itself. It polls GET /status.json (also at /v1/status), the JSON twin
// for scripts, whose field names are stable (README "Status page"). No build step, no assets.

//go:embed status.html
var statusPage []byte

// maxStatusOrgs caps the orgs listed by name: a node with thousands of orgs lists the
// busiest, and says how many it left out.
const maxStatusOrgs = 100

// announceEvery is how often a node refreshes its entry in Redis (which expires after 15 s).
const announceEvery = 2 * time.Second

// Status is this node's summary, with the other nodes when Redis is in use.
type Status struct {
	Node        string         `json:"node"`
	Started     time.Time      `json:"started"`
	Ready       readiness      `json:"readiness"`
	Connections map[string]int `json:"connections"` // Engine.IO sessions per transport
	Orgs        int            `json:"orgs"`        // org namespaces with sockets on this node
	// OrgSockets lists them, most sockets first, at most maxStatusOrgs;
	// OrgsNotListed is how many more there are.
	OrgSockets    []OrgSockets  `json:"org_sockets"`
	OrgsNotListed int           `json:"org_sockets_not_listed"`
	Broadcasts    int64         `json:"broadcasts"`
	Deliveries    int64         `json:"deliveries"`
	Resyncs       int64         `json:"resyncs"`
	Unmatched     int           `json:"unmatched_shapes"`
	Reload        *ReloadResult `json:"reload"` // the last SIGHUP reload; null before the first
	Redis         *RedisStatus  `json:"redis"`  // null without --redis
	Nodes         []NodeStatus  `json:"nodes"`  // every live node (with Redis); empty on a single node
}

// OrgSockets is one org namespace with sockets on this node.
type OrgSockets struct {
	Org       string `json:"org"`
	Namespace string `json:"namespace"`
	Sockets   int    `json:"sockets"`
}

// NodeStatus is a node as it announced itself in Redis (this node: its live counts).
type NodeStatus struct {
	fanout.NodeInfo
	Self bool `json:"self"`
}

// RedisStatus is the state of this node's fan-out through Redis.
type RedisStatus struct {
	Ready bool `json:"ready"` // bus reader connected and nothing queued: what /readyz calls fanout
	// Queued is how many publishes wait for Redis to come back (already delivered to this
	// node's sockets); past the adapter's cap of 10,000 the namespaces concerned get a
	// resync instead, and are not counted here.
	Queued          int64      `json:"queued"`
	LastError       string     `json:"last_error,omitempty"`    // the last Redis error this node saw
	LastErrorAt     *time.Time `json:"last_error_at,omitempty"` // when (kept after recovery)
	Published       int64      `json:"published"`
	PublishFailures int64      `json:"publish_failures"`
	Replayed        int64      `json:"replayed"`
	Reconnects      int64      `json:"reconnects"`
	NodesLost       int64      `json:"nodes_lost"`
}

// engines keeps, per Redis engine (the adapter), what the announce loop owns: the last
// error its announcements and node listings met, and with --redis-cluster the client they
// use. The loop creates the entry and removes it when the gateway stops.
var engines sync.Map // namespaces.Adapter → *engineState

type engineState struct {
	lastError
	cluster *redis.ClusterClient // --redis-cluster: announcements (fanout.Redis announces itself)
}

type lastError struct {
	mu  sync.Mutex
	err string
	at  time.Time
}

func (l *lastError) note(err error) {
	if err == nil || l == nil {
		return
	}
	l.mu.Lock()
	l.err, l.at = err.Error(), time.Now().UTC()
	l.mu.Unlock()
}

func (l *lastError) get() (string, *time.Time) {
	if l == nil {
		return "", nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == "" {
		return "", nil
	}
	at := l.at
	return l.err, &at
}

func engineOf(a namespaces.Adapter) *engineState {
	v, ok := engines.Load(a)
	if !ok {
		return nil
	}
	return v.(*engineState)
}

// redisEngine is what the status page reads of either Redis engine.
type redisEngine struct {
	adapter  namespaces.Adapter
	id       string
	state    func() *RedisStatus
	announce func(context.Context, fanout.NodeInfo) error // nil: cannot (yet)
	nodes    func(context.Context) ([]fanout.NodeInfo, error)
}

// redisEngine returns the Redis engine in use, or nil (in memory).
func (g *Gateway) redisEngine() *redisEngine {
	switch a := g.sio.Adapter().(type) {
	case *fanout.Redis:
		return &redisEngine{adapter: a, id: a.NodeID(), announce: a.Announce, nodes: a.Nodes, state: func() *RedisStatus {
			rs := a.Stats()
			return &RedisStatus{Ready: a.Ready(), Queued: int64(a.Pending()), Published: rs.Published.Load(), PublishFailures: rs.PublishFailures.Load(),
				Replayed: rs.Replayed.Load(), Reconnects: rs.Reconnects.Load(), NodesLost: rs.NodesLost.Load()}
		}}
	case *fanout.Cluster:
		e := &redisEngine{adapter: a, id: a.NodeID(), state: func() *RedisStatus {
			cs := a.Stats()
			return &RedisStatus{Ready: a.Ready(), Queued: int64(a.Pending()), Published: cs.Published.Load(), PublishFailures: cs.PublishFailures.Load(),
				Replayed: cs.Replayed.Load(), Reconnects: cs.Reconnects.Load(), NodesLost: cs.NodesLost.Load()}
		}}
		e.nodes = func(context.Context) ([]fanout.NodeInfo, error) { return nil, errors.New("node list not read yet") }
		if st := engineOf(a); st != nil && st.cluster != nil {
			e.announce = func(ctx context.Context, info fanout.NodeInfo) error {
				info.ID = a.NodeID()
				return announceCluster(ctx, st.cluster, info)
			}
			e.nodes = func(ctx context.Context) ([]fanout.NodeInfo, error) { return clusterNodes(ctx, st.cluster) }
		}
		return e
	}
	return nil
}

func (g *Gateway) status(ctx context.Context) Status {
	st := g.sio.Stats()
	host, _ := os.Hostname()
	s := Status{
		Node:        host,
		Started:     g.started,
		Ready:       g.readiness(),
		Connections: g.sio.CountByTransport(),
		Broadcasts:  st.Broadcasts.Load(),
		Deliveries:  st.Deliveries.Load(),
		Resyncs:     st.Resyncs.Load(),
		Unmatched:   len(g.Unmatched()),
		Reload:      g.reload.lastResult(),
		Nodes:       []NodeStatus{},
	}
	orgs := g.orgSockets()
	s.Orgs = len(orgs)
	s.OrgSockets, s.OrgsNotListed = capOrgs(orgs, maxStatusOrgs)
	e := g.redisEngine()
	if e == nil {
		return s
	}
	s.Node = e.id
	s.Redis = e.state()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	nodes, err := e.nodes(ctx)
	le := engineOf(e.adapter)
	if err != nil && le != nil {
		le.note(err)
	}
	if le != nil {
		s.Redis.LastError, s.Redis.LastErrorAt = le.get()
	}
	self := false
	for _, n := range nodes {
		ns := NodeStatus{NodeInfo: n}
		if n.ID == s.Node { // announced up to announceEvery ago: show the live counts
			ns.Self, self = true, true
			ns.Connections, ns.Orgs = s.Connections, s.Orgs
		}
		s.Nodes = append(s.Nodes, ns)
	}
	if !self { // Redis unreachable, or not announced yet: this node is still alive
		s.Nodes = append(s.Nodes, NodeStatus{Self: true, NodeInfo: fanout.NodeInfo{
			ID: s.Node, Seen: time.Now().UTC(), Connections: s.Connections, Orgs: s.Orgs}})
	}
	slices.SortFunc(s.Nodes, func(a, b NodeStatus) int { return cmp.Compare(a.ID, b.ID) })
	return s
}

// The nodes of --redis-cluster are listed the way fanout.Redis lists its own: one key per
// node expiring 15 s after its last announcement, plus the set of their IDs so a reader
// needs no SCAN (which a cluster runs per master). Every key is in the {sg} slot.
const (
	clusterNodePrefix = "syncgate:{sg}:node:"
	clusterNodeSet    = "syncgate:{sg}:nodes"
	clusterNodeTTL    = 15 * time.Second
	maxListedNodes    = 1000
)

func announceCluster(ctx context.Context, rdb *redis.ClusterClient, info fanout.NodeInfo) error {
	info.Seen = time.Now().UTC()
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	pipe := rdb.TxPipeline()
	pipe.Set(ctx, clusterNodePrefix+info.ID, b, clusterNodeTTL)
	pipe.SAdd(ctx, clusterNodeSet, info.ID)
	pipe.Expire(ctx, clusterNodeSet, time.Hour) // the set goes when every node has gone
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("announce node: %w", err)
	}
	return nil
}

func clusterNodes(ctx context.Context, rdb *redis.ClusterClient) ([]fanout.NodeInfo, error) {
	ids, err := rdb.SMembers(ctx, clusterNodeSet).Result()
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	slices.Sort(ids)
	ids = ids[:min(len(ids), maxListedNodes)]
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = clusterNodePrefix + id
	}
	vals, err := rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, err
	}
	var out []fanout.NodeInfo
	var gone []any
	for i, v := range vals {
		str, ok := v.(string)
		var ni fanout.NodeInfo
		if !ok || json.Unmarshal([]byte(str), &ni) != nil {
			gone = append(gone, ids[i]) // expired: the node stopped announcing
			continue
		}
		out = append(out, ni)
	}
	if len(gone) > 0 {
		_ = rdb.SRem(ctx, clusterNodeSet, gone...).Err()
	}
	return out, nil
}

// orgSockets counts the sockets of every org namespace on this node.
func (g *Gateway) orgSockets() []OrgSockets {
	var out []OrgSockets
	for _, name := range g.sio.Namespaces() {
		org, ok := g.orgOf(name)
		if !ok {
			continue
		}
		ns := g.sio.Namespace(name)
		if ns == nil {
			continue // emptied since the listing
		}
		if n := ns.Len(); n > 0 {
			out = append(out, OrgSockets{Org: org, Namespace: name, Sockets: n})
		}
	}
	return out
}

// capOrgs sorts orgs by sockets (most first, then by namespace) and keeps the first limit;
// it returns them and how many it left out.
func capOrgs(orgs []OrgSockets, limit int) ([]OrgSockets, int) {
	slices.SortFunc(orgs, func(a, b OrgSockets) int {
		if c := cmp.Compare(b.Sockets, a.Sockets); c != 0 {
			return c
		}
		return cmp.Compare(a.Namespace, b.Namespace)
	})
	if orgs == nil {
		orgs = []OrgSockets{}
	}
	if len(orgs) <= limit {
		return orgs, 0
	}
	return orgs[:limit:limit], len(orgs) - limit
}

// announce keeps this node listed in Redis, with its counts, while the gateway runs.
func (g *Gateway) announce(ctx context.Context) {
	a := g.sio.Adapter()
	st := &engineState{}
	switch a.(type) {
	case *fanout.Redis:
	case *fanout.Cluster:
		rdb, err := fanout.NewClusterClient(g.cfg.RedisCluster, g.cfg.RedisUsername, g.cfg.RedisPassword)
		if err != nil {
			g.log.Warn("status page: no node list (Redis Cluster client)", "err", err)
			return
		}
		defer rdb.Close()
		st.cluster = rdb
	default:
		return
	}
	engines.Store(a, st)
	defer engines.Delete(a)
	e := g.redisEngine()
	t := time.NewTicker(announceEvery)
	defer t.Stop()
	for {
		actx, cancel := context.WithTimeout(ctx, time.Second)
		err := e.announce(actx, fanout.NodeInfo{Connections: g.sio.CountByTransport(), Orgs: len(g.orgSockets())})
		cancel()
		if ctx.Err() != nil {
			return
		}
		st.note(err)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (g *Gateway) statusJSON(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(g.status(r.Context()))
}

func (g *Gateway) statusHTML(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
	_, _ = w.Write(statusPage)
}
