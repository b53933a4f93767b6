package fanout

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/syncgate/syncgate/namespaces"
)

// Cluster spreads broadcasts over the nodes through a Redis Cluster, and a node reads only
// the organizations (namespaces) it has sockets in:
//
//   - Every namespace has its recovery log (a stream, trimmed to the recovery window) and a
//     shard channel, both in one cluster slot. One script appends a broadcast to the log and
//     SPUBLISHes it with its log offset and the offset before it, so the channel carries the
//     namespace's broadcasts in log order and a subscriber sees a gap as a wrong "previous
//     offset". On a gap it reads the missing entries from the log; when the log cannot prove
//     them all, the namespace's local sockets get a resync.
//
//   - A node SSUBSCRIBEs to a namespace's channel when its first socket joins (the join waits
//     for the subscription, so nothing published after the CONNECT answer is missed) and
//     SUNSUBSCRIBEs a linger after its last socket left.
//
//   - Namespaces are spread over a fixed number of partitions (a hash tag each), like
//     centrifuge's sharded PUB/SUB: the channels of one partition share a slot, so one
//     connection per partition carries all of them, whatever the number of namespaces.
//
//   - A lost subscription connection (a master killed, a slot moved) is re-made from the
//     current cluster map; every namespace of the partition then catches up from its log, or
//     resyncs when the partition's master changed or its data was lost (asynchronous
//     replication may drop the last acknowledged writes).
//
//   - Publishes that fail are delivered here at once and queued (bounded), as with
//     RedisAdapter; node leases make every node resync its sockets when a node disappears
//     without saying goodbye.
type Cluster struct {
	rdb       *redis.ClusterClient
	uid       string
	window    time.Duration
	perNsp    int64
	maxPend   int
	lease     time.Duration
	linger    time.Duration
	wait      time.Duration
	nparts    int
	onPublish func(shard string, d time.Duration)
	log       *slog.Logger

	hooks  namespaces.AdapterHooks
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	parts  []*partition
	pubSeq atomic.Uint64
	leased atomic.Bool // the last lease renewal reached Redis
	seen   recentIDs
	wake   chan struct{} // the flusher: something was queued

	mu       sync.Mutex
	pending  []*namespaces.Broadcast
	overflow map[string]struct{}
	unclean  bool
	closed   bool

	stats ClusterStats
}

// ClusterStats counts what the engine did, for metrics and tests.
type ClusterStats struct {
	Published       atomic.Int64 // broadcasts written to Redis
	PublishFailures atomic.Int64 // broadcasts Redis did not take at once (queued)
	Received        atomic.Int64 // broadcasts this node read from Redis (live or caught up)
	CaughtUp        atomic.Int64 // of those, read from a log after a gap or a reconnect
	Replayed        atomic.Int64 // queued broadcasts written after Redis came back
	Resyncs         atomic.Int64 // resync notices issued (per namespace, or all)
	Reconnects      atomic.Int64 // subscription connections re-made after an error
	NodesLost       atomic.Int64 // other nodes this node declared lost (lease expired)
	Subscriptions   atomic.Int64 // namespaces this node reads now (gauge)
}

// ClusterOptions configure NewCluster.
type ClusterOptions struct {
	Client         *redis.ClusterClient
	RecoveryWindow time.Duration // how long logs and sessions are kept; default 2m
	PerNamespace   int64         // broadcasts kept per namespace log, default 1,000
	MaxPending     int           // publishes queued while Redis is unreachable, default 10,000
	NodeLease      time.Duration // see RedisOptions.NodeLease; default 5s
	// Linger is how long a namespace is still read after its last local socket left, so a
	// socket that reconnects at once does not make the node unsubscribe and subscribe
	// again. Default 30s.
	Linger time.Duration
	// Partitions is the number of hash tags namespaces are spread over (one subscription
	// connection per partition in use). Every node of a deployment must use the same
	// number. Default 64.
	Partitions int
	// SubscribeWait bounds how long a joining socket waits for its namespace's
	// subscription; past it the socket is admitted and resynced once the subscription is
	// made. Default 2s.
	SubscribeWait time.Duration
	// OnPublish, if set, is called after every publish with the address of the master that
	// took it and how long it took (for a per-shard latency histogram).
	OnPublish func(shard string, d time.Duration)
	Logger    *slog.Logger
}

// Redis keys. Every key of a namespace carries its partition's hash tag, {sgN}, so the
// publish script touches one slot; sessions hash on their own; the node registry is in
// {sgctl}. None of them collides with RedisAdapter's {sg} keys.
const (
	keyPrefix   = "syncgate:"
	keyPID      = "syncgate:pid:"
	keyLeases   = "syncgate:{sgctl}:leases"  // sorted set: node ID → lease end (Redis time, ms)
	keyLost     = "syncgate:{sgctl}:lost"    // Redis time (ms) when a node was last declared lost
	keyLostSeq  = "syncgate:{sgctl}:lostseq" // how many times nodes were declared lost
	lastTTL     = 24 * time.Hour             // how long a namespace's last offset outlives its log
	maxCatchUp  = 10_000                     // log entries read at most in one catch-up
	receiveWait = time.Second                // a subscription idle this long is pinged
)

// publishScript appends a broadcast to its namespace log (trimmed by length and age,
// expiring when idle), records the offset as the namespace's last, sets the partition's
// data epoch if missing, and SPUBLISHes "offset previous payload". It returns the offset.
// It also records which master wrote last (CLUSTER MYID): the first write on another one
// (a failover, or a migrated slot) sets the partition's "moved" time, before which no
// recovery is called complete (the former master may have acknowledged writes that did not
// reach this one).
var publishScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SET', KEYS[3], now, 'NX')
local me = redis.call('CLUSTER', 'MYID')
local owner = redis.call('GET', KEYS[4])
if owner ~= me then
  redis.call('SET', KEYS[4], me)
  if owner then redis.call('SET', KEYS[5], now) end
end
local prev = redis.call('GET', KEYS[2])
if not prev then prev = '' end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], '*', 'p', ARGV[1])
redis.call('XTRIM', KEYS[1], 'MINID', '~', now - tonumber(ARGV[4]))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], id, 'PX', ARGV[5])
redis.call('SPUBLISH', ARGV[2], id .. ' ' .. prev .. ' ' .. ARGV[1])
return id
`)

// stateScript returns, for Missed, the answering master's ID and the partition's last
// writer, moved time and data epoch.
var stateScript = redis.NewScript(`
local me = redis.call('CLUSTER', 'MYID')
return {me, redis.call('GET', KEYS[1]) or '', redis.call('GET', KEYS[2]) or '0', redis.call('GET', KEYS[3]) or ''}
`)

// leaseScript renews this node's lease and declares lost every node whose lease ended (the
// lost watermark is set and the lost counter incremented). It returns the counter followed
// by the lost nodes. Redis's clock is used throughout.
var leaseScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[1] ~= '' then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
end
local lost = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #lost > 0 then
  redis.call('ZREM', KEYS[1], unpack(lost))
  redis.call('SET', KEYS[2], now)
  redis.call('INCR', KEYS[3])
end
local seq = redis.call('GET', KEYS[3])
if not seq then seq = '0' end
table.insert(lost, 1, seq)
return lost
`)

// NewClusterClient returns a cluster client for comma-separated seed addresses; each may be
// host:port or a redis:// / rediss:// URL (credentials in the URL or in username/password).
func NewClusterClient(seeds, username, password string) (*redis.ClusterClient, error) {
	var addrs []string
	opt := &redis.ClusterOptions{}
	for _, s := range strings.Split(seeds, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.Contains(s, "://") {
			u, err := redis.ParseClusterURL(s)
			if err != nil {
				return nil, fmt.Errorf("fanout: redis cluster seed %q: %w", s, err)
			}
			addrs = append(addrs, u.Addrs...)
			if u.TLSConfig != nil {
				opt.TLSConfig = u.TLSConfig
			}
			if u.Username != "" {
				opt.Username = u.Username
			}
			if u.Password != "" {
				opt.Password = u.Password
			}
			continue
		}
		if _, _, err := net.SplitHostPort(s); err != nil {
			return nil, fmt.Errorf("fanout: redis cluster seed %q: want host:port or a redis:// URL", s)
		}
		addrs = append(addrs, s)
	}
	if len(addrs) == 0 {
		return nil, errors.New("fanout: redis cluster: no seed address")
	}
	opt.Addrs = addrs
	if username != "" {
		opt.Username = username
	}
	if password != "" {
		opt.Password = password
	}
	opt.PoolSize = 4 // per master: publishes, catch-up reads, sessions
	opt.MaxRetries = 2
	opt.DialTimeout = 2 * time.Second
	opt.ContextTimeoutEnabled = true // a publish gives up at its 2s deadline (then it is queued)
	return redis.NewClusterClient(opt), nil
}

// NewCluster returns the engine on the given client. It starts its lease keeper when the
// server calls Init; subscriptions are made as sockets join.
func NewCluster(o ClusterOptions) *Cluster {
	if o.RecoveryWindow <= 0 {
		o.RecoveryWindow = 2 * time.Minute
	}
	if o.PerNamespace <= 0 {
		o.PerNamespace = 1000
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 10_000
	}
	if o.NodeLease <= 0 {
		o.NodeLease = 5 * time.Second
	}
	if o.Linger <= 0 {
		o.Linger = 30 * time.Second
	}
	if o.Partitions <= 0 {
		o.Partitions = 64
	}
	if o.SubscribeWait <= 0 {
		o.SubscribeWait = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	a := &Cluster{
		rdb: o.Client, uid: newID(), window: o.RecoveryWindow, perNsp: o.PerNamespace,
		maxPend: o.MaxPending, lease: o.NodeLease, linger: o.Linger, wait: o.SubscribeWait,
		nparts: o.Partitions, onPublish: o.OnPublish, log: o.Logger,
		wake: make(chan struct{}, 1), overflow: make(map[string]struct{}),
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.parts = make([]*partition, o.Partitions)
	for i := range a.parts {
		a.parts[i] = &partition{a: a, tag: "{sg" + strconv.Itoa(i) + "}", subs: make(map[string]*sub), wake: make(chan struct{}, 1)}
	}
	return a
}

// Stats returns the engine's counters.
func (a *Cluster) Stats() *ClusterStats { return &a.stats }

// Pending returns how many publishes wait for the cluster to take them (delivered here already).
func (a *Cluster) Pending() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending)
}

// LogKey returns the Redis key of nsp's recovery log (a stream: XRANGE it to see what the
// engine would replay), for operators and tests.
func (a *Cluster) LogKey(nsp string) string { return a.partOf(nsp).logKey(nsp) }

// NodeID returns this node's ID.
func (a *Cluster) NodeID() string { return a.uid }

// Init implements namespaces.Adapter.
func (a *Cluster) Init(h namespaces.AdapterHooks) {
	a.hooks = h
	a.wg.Add(3 + len(a.parts))
	go a.keepLease()
	go a.flusher()
	go a.janitor()
	for _, p := range a.parts {
		go p.run()
	}
}

// Keys of namespace nsp.
func (a *Cluster) partOf(nsp string) *partition {
	h := fnv.New32a()
	_, _ = h.Write([]byte(nsp))
	return a.parts[h.Sum32()%uint32(len(a.parts))]
}

func (p *partition) logKey(nsp string) string  { return keyPrefix + p.tag + ":log:" + nsp }
func (p *partition) lastKey(nsp string) string { return keyPrefix + p.tag + ":last:" + nsp }
func (p *partition) chanKey(nsp string) string { return keyPrefix + p.tag + ":ch:" + nsp }
func (p *partition) epochKey() string          { return keyPrefix + p.tag + ":epoch" }
func (p *partition) ownerKey() string          { return keyPrefix + p.tag + ":owner" }
func (p *partition) movedKey() string          { return keyPrefix + p.tag + ":moved" }

// wire is a broadcast as stored in Redis.
type wire struct {
	Nsp          string   `json:"nsp"`
	Rooms        []string `json:"rooms,omitempty"`
	Except       []string `json:"except,omitempty"`
	Event        string   `json:"event"`
	Args         []any    `json:"args,omitempty"`
	Resync       bool     `json:"resync,omitempty"` // a marker: the namespace lost events
	ID           string   `json:"id,omitempty"`     // unique per publish: a replayed one is recognised
	Node         string   `json:"n,omitempty"`      // the publishing node
	Here         bool     `json:"l,omitempty"`      // delivered on Node already (written after an outage)
	SkipSocket   string   `json:"skip,omitempty"`
	SkipOwners   []string `json:"owners,omitempty"`
	ExceptSender string   `json:"xsender,omitempty"`
	TraceID      string   `json:"trace,omitempty"` // the causing call's trace (tracing on)
}

func (a *Cluster) toWire(b *namespaces.Broadcast, here bool) wire {
	return wire{Nsp: b.Nsp, Rooms: b.Rooms, Except: b.Except, Event: b.Event, Args: b.Args, ID: b.BusID(),
		Node: a.uid, Here: here, SkipSocket: b.SkipSocket, SkipOwners: b.SkipOwners, ExceptSender: b.ExceptSender, TraceID: b.TraceID}
}

func (w wire) broadcast(off string) *namespaces.Broadcast {
	b := &namespaces.Broadcast{Nsp: w.Nsp, Rooms: w.Rooms, Except: w.Except, Event: w.Event, Args: w.Args,
		Offset: off, SkipSocket: w.SkipSocket, SkipOwners: w.SkipOwners, ExceptSender: w.ExceptSender, TraceID: w.TraceID}
	b.SetBusID(w.ID)
	return b
}

// Publish implements namespaces.Adapter. This node's sockets get b from the namespace's
// subscription, in log order with the other nodes' broadcasts; when Redis does not take it,
// they get it at once and it is queued for the other nodes.
func (a *Cluster) Publish(b *namespaces.Broadcast) error {
	if namespaces.HasBinary(b.Args) {
		return errors.New("fanout: redis cluster: binary arguments cannot be broadcast")
	}
	b.SetBusID(a.uid + "." + strconv.FormatUint(a.pubSeq.Add(1), 36))
	payload, err := json.Marshal(a.toWire(b, false))
	if err != nil {
		return fmt.Errorf("fanout: redis cluster: encode: %w", err)
	}
	a.mu.Lock()
	queued := len(a.pending) > 0 || len(a.overflow) > 0 // keep order: never overtake queued publishes
	a.mu.Unlock()
	if !queued {
		off, err := a.write(a.ctx, b.Nsp, payload)
		if err == nil {
			b.Offset = off
			a.stats.Published.Add(1)
			return nil
		}
		a.log.Warn("redis cluster publish failed; delivering locally and queueing", "nsp", b.Nsp, "event", b.Event, "err", err)
	}
	a.stats.PublishFailures.Add(1)
	// A write that timed out may still be carried out; the replay then writes it a second
	// time, and whichever copy comes second is dropped by ID.
	a.seen.add(b.BusID())
	a.hooks.DeliverLocal(b)
	a.mu.Lock()
	if len(a.pending) < a.maxPend {
		a.pending = append(a.pending, b)
	} else {
		a.overflow[b.Nsp] = struct{}{}
	}
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
	return nil
}

// write runs the publish script and returns the log offset.
func (a *Cluster) write(ctx context.Context, nsp string, payload []byte) (string, error) {
	p := a.partOf(nsp)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	start := time.Now()
	keys := []string{p.logKey(nsp), p.lastKey(nsp), p.epochKey(), p.ownerKey(), p.movedKey()}
	off, err := publishScript.Run(ctx, a.rdb, keys, payload, p.chanKey(nsp), a.perNsp,
		a.window.Milliseconds(), lastTTL.Milliseconds()).Text()
	if err != nil {
		// go-redis refreshes its slot map on MOVED and ASK, not when a master is gone: ask
		// for a new map (at most one reload runs at a time), so a failover is found.
		a.rdb.ReloadState(ctx)
		return "", fmt.Errorf("fanout: redis cluster publish: %w", err)
	}
	if a.onPublish != nil {
		shard := "?"
		if c, err := a.rdb.MasterForKey(ctx, keys[0]); err == nil {
			shard = c.Options().Addr
		}
		a.onPublish(shard, time.Since(start))
	}
	return off, nil
}

// flusher writes the publishes queued during an outage, then resync markers for the
// namespaces whose events could not all be queued, until Close.
func (a *Cluster) flusher() {
	defer a.wg.Done()
	backoff := 50 * time.Millisecond
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-a.wake:
		case <-time.After(backoff):
		}
		if a.flush(a.ctx) {
			backoff = 50 * time.Millisecond
		} else if backoff < 2*time.Second {
			backoff *= 2
		}
	}
}

// flush reports whether the queue is empty.
func (a *Cluster) flush(ctx context.Context) bool {
	for {
		a.mu.Lock()
		if len(a.pending) == 0 {
			a.mu.Unlock()
			break
		}
		b := a.pending[0]
		a.mu.Unlock()
		payload, _ := json.Marshal(a.toWire(b, true))
		if _, err := a.write(ctx, b.Nsp, payload); err != nil {
			a.log.Debug("redis cluster replay failed; retrying", "err", err)
			return false
		}
		a.stats.Replayed.Add(1)
		a.mu.Lock()
		a.pending[0] = nil
		a.pending = a.pending[1:]
		a.mu.Unlock()
	}
	a.mu.Lock()
	nsps := make([]string, 0, len(a.overflow))
	for n := range a.overflow {
		nsps = append(nsps, n)
	}
	a.mu.Unlock()
	for _, n := range nsps {
		payload, _ := json.Marshal(wire{Nsp: n, Event: namespaces.EventResync, Resync: true, Node: a.uid, Here: true})
		if _, err := a.write(ctx, n, payload); err != nil {
			return false
		}
		a.mu.Lock()
		delete(a.overflow, n)
		a.mu.Unlock()
	}
	return true
}

// partition is one hash tag: the subscriptions of its namespaces share one connection.
type partition struct {
	a    *Cluster
	tag  string
	wake chan struct{} // run: a PubSub was made

	mu     sync.Mutex
	ps     *redis.PubSub
	subs   map[string]*sub // by channel
	broken bool            // the connection was lost and not confirmed again yet
	unsubs map[string]int  // SUNSUBSCRIBEs sent and not confirmed yet, by channel

	// run's own:
	owner string // master address when the subscription was confirmed
	epoch string // the partition's data epoch then
}

// sub is this node's interest in one namespace.
type sub struct {
	nsp, ch    string
	count      int       // local sockets (may dip below 0 when a leave overtakes its join)
	idleSince  time.Time // count fell to 0 or below
	subscribed bool      // SSUBSCRIBE sent (and kept by the PubSub across reconnects)
	confirmed  bool      // the first confirmation came
	late       bool      // a socket stopped waiting for the confirmation: resync at it
	ready      chan struct{}

	// run's own:
	last    string // offset of the last broadcast read
	suspect bool   // the connection was lost: catch up at the next confirmation
}

// Subscribe implements namespaces.InterestAdapter.
func (a *Cluster) Subscribe(nsp string) {
	p := a.partOf(nsp)
	ch := p.chanKey(nsp)
	// One bound for everything: a dial to an unreachable master included. A SSUBSCRIBE not
	// sent in time stays on the PubSub, which sends it when it (re)connects.
	ctx, cancel := context.WithTimeout(a.ctx, a.wait)
	defer cancel()
	p.mu.Lock()
	s := p.subs[ch]
	if s == nil {
		s = &sub{nsp: nsp, ch: ch, ready: make(chan struct{})}
		p.subs[ch] = s
	}
	s.count++
	if !s.subscribed && s.count > 0 {
		s.subscribed = true
		a.stats.Subscriptions.Add(1)
		if p.ps == nil {
			p.ps = a.rdb.SSubscribe(ctx, ch)
			select {
			case p.wake <- struct{}{}:
			default:
			}
		} else {
			_ = p.ps.SSubscribe(ctx, ch) // kept by the PubSub and sent again on reconnect
		}
	}
	ready := s.ready
	p.mu.Unlock()
	select {
	case <-ready:
		return
	case <-ctx.Done():
	}
	p.mu.Lock()
	if !s.confirmed {
		s.late = true
	}
	p.mu.Unlock()
	a.log.Warn("redis cluster subscription not confirmed in time; the namespace's sockets resync once it is", "nsp", nsp, "wait", a.wait)
}

// Unsubscribe implements namespaces.InterestAdapter.
func (a *Cluster) Unsubscribe(nsp string) {
	p := a.partOf(nsp)
	ch := p.chanKey(nsp)
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.subs[ch]
	if s == nil {
		s = &sub{nsp: nsp, ch: ch, ready: make(chan struct{})}
		p.subs[ch] = s
	}
	s.count--
	if s.count <= 0 {
		s.idleSince = time.Now()
	}
}

// janitor unsubscribes from namespaces that have had no local socket for the linger.
func (a *Cluster) janitor() {
	defer a.wg.Done()
	period := max(a.linger/4, 10*time.Millisecond)
	t := time.NewTicker(min(period, time.Second))
	defer t.Stop()
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		for _, p := range a.parts {
			p.mu.Lock()
			var drop []string
			for ch, s := range p.subs {
				if s.count <= 0 && now.Sub(s.idleSince) >= a.linger {
					delete(p.subs, ch)
					if s.subscribed {
						drop = append(drop, ch)
						a.stats.Subscriptions.Add(-1)
					}
				}
			}
			if len(drop) > 0 && p.ps != nil {
				if len(p.subs) == 0 {
					_ = p.ps.Close() // run sees it is no longer p.ps and waits for the next one
					p.ps = nil
				} else {
					if p.unsubs == nil {
						p.unsubs = make(map[string]int)
					}
					for _, ch := range drop {
						p.unsubs[ch]++
					}
					_ = p.ps.SUnsubscribe(a.ctx, drop...)
				}
			}
			p.mu.Unlock()
		}
	}
}

// run reads the partition's subscription until Close.
func (p *partition) run() {
	a := p.a
	defer a.wg.Done()
	pingSent := false
	backoff := 50 * time.Millisecond
	for a.ctx.Err() == nil {
		p.mu.Lock()
		ps := p.ps
		p.mu.Unlock()
		if ps == nil {
			select {
			case <-p.wake:
			case <-a.ctx.Done():
				return
			}
			continue
		}
		msg, err := ps.ReceiveTimeout(a.ctx, receiveWait)
		if err != nil {
			if a.ctx.Err() != nil {
				return
			}
			p.mu.Lock()
			current := p.ps == ps
			p.mu.Unlock()
			if !current {
				continue // closed by the janitor or a reset
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if !pingSent {
					_ = ps.Ping(a.ctx)
					pingSent = true
					continue
				}
				err = errors.New("no answer to ping")
			}
			pingSent = false
			p.reset(err)
			sleep(a.ctx, &backoff)
			continue
		}
		pingSent = false
		switch m := msg.(type) {
		case *redis.Subscription:
			p.confirmed(m)
			backoff = 50 * time.Millisecond
		case *redis.Message:
			p.message(m)
		}
	}
}

// reset replaces the partition's subscription connection with a new one made from the
// current cluster map; every namespace catches up once it is confirmed again.
func (p *partition) reset(reason error) {
	a := p.a
	a.stats.Reconnects.Add(1)
	a.rdb.ReloadState(a.ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.broken {
		a.log.Warn("redis cluster subscription lost; reconnecting", "partition", p.tag, "err", reason)
	}
	p.broken = true
	var chans []string
	for ch, s := range p.subs {
		if s.subscribed {
			chans = append(chans, ch)
			s.suspect = true
		}
	}
	old := p.ps
	p.ps = nil
	p.unsubs = nil
	if len(chans) > 0 {
		p.ps = a.rdb.SSubscribe(a.ctx, chans...)
	}
	if old != nil {
		_ = old.Close()
	}
}

// confirmed handles a subscription change.
func (p *partition) confirmed(m *redis.Subscription) {
	a := p.a
	p.mu.Lock()
	s := p.subs[m.Channel]
	if m.Kind == "sunsubscribe" {
		if p.unsubs[m.Channel] > 0 { // the answer to the janitor's
			p.unsubs[m.Channel]--
			if p.unsubs[m.Channel] == 0 {
				delete(p.unsubs, m.Channel)
			}
			p.mu.Unlock()
			return
		}
		wanted := s != nil && s.subscribed
		p.mu.Unlock()
		if wanted { // the server dropped it: its slot moved to another master
			p.reset(errors.New("slot moved"))
		}
		return
	}
	if m.Kind != "ssubscribe" || s == nil {
		p.mu.Unlock()
		return
	}
	first := !s.confirmed
	s.confirmed = true
	late := s.late
	s.late = false
	wasBroken := p.broken
	p.broken = false
	if first {
		close(s.ready)
	}
	p.mu.Unlock()
	if first || wasBroken {
		p.checkOwner(wasBroken)
	}
	if s.suspect {
		s.suspect = false
		if p.owner == "" {
			a.resync(s, "redis reconnected")
		} else {
			p.catchUp(s, "")
		}
	}
	if late {
		a.resync(s, "redis reconnected")
	}
}

// checkOwner records the partition's master and data epoch; after a reconnect, when either
// changed (a failover, a slot moved, or a master restarted empty), the writes acknowledged
// by the former one may be lost without a trace in the log, so the namespaces that must
// catch up resync instead (owner "" tells catchUp callers so).
func (p *partition) checkOwner(reconnect bool) {
	a := p.a
	ctx, cancel := context.WithTimeout(a.ctx, 2*time.Second)
	defer cancel()
	owner := ""
	if c, err := a.rdb.MasterForKey(ctx, p.epochKey()); err == nil {
		owner = c.Options().Addr
	}
	epoch, err := a.rdb.Get(ctx, p.epochKey()).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		owner = "" // unknown: resync
	}
	moved := owner != p.owner
	if reconnect && moved && owner != "" && (p.epoch == "" || epoch == p.epoch) && a.stillMaster(ctx, p.owner) {
		// The former master is up and still a master: the slot was migrated (MIGRATE
		// moves keys whole) or handed over by a manual failover, which waits for the
		// replica to catch up. The log is whole: catch up from it.
		a.log.Info("redis cluster partition moved to another master; catching up from the log",
			"partition", p.tag, "was", p.owner, "now", owner)
		p.owner, p.epoch = owner, epoch
		return
	}
	if reconnect && (moved || (p.epoch != "" && epoch != p.epoch)) {
		a.log.Warn("redis cluster partition changed master or lost data; its namespaces resync",
			"partition", p.tag, "was", p.owner, "now", owner)
		p.owner, p.epoch = "", epoch
		p.markResync()
		p.owner = owner
		return
	}
	p.owner, p.epoch = owner, epoch
}

// stillMaster reports whether the server at addr answers ROLE as a master.
func (a *Cluster) stillMaster(ctx context.Context, addr string) bool {
	if addr == "" {
		return false
	}
	o := a.rdb.Options()
	c := redis.NewClient(&redis.Options{Addr: addr, Username: o.Username, Password: o.Password, TLSConfig: o.TLSConfig,
		DialTimeout: time.Second, MaxRetries: -1, PoolSize: 1})
	defer c.Close()
	role, err := c.Do(ctx, "ROLE").Slice()
	return err == nil && len(role) > 0 && role[0] == "master"
}

// markResync resyncs every suspect namespace of the partition now.
func (p *partition) markResync() {
	p.mu.Lock()
	var todo []*sub
	for _, s := range p.subs {
		if s.suspect {
			s.suspect = false
			todo = append(todo, s)
		}
	}
	p.mu.Unlock()
	for _, s := range todo {
		p.a.resync(s, "redis failover")
	}
}

func (a *Cluster) resync(s *sub, reason string) {
	a.stats.Resyncs.Add(1)
	s.last = "" // no position: the next broadcast starts the chain again
	a.hooks.Resync(s.nsp, reason)
}

// message handles one live broadcast: "offset previous payload".
func (p *partition) message(m *redis.Message) {
	a := p.a
	off, rest, ok1 := strings.Cut(m.Payload, " ")
	prev, body, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 {
		a.log.Warn("redis cluster: malformed message skipped", "channel", m.Channel)
		return
	}
	p.mu.Lock()
	s := p.subs[m.Channel]
	p.mu.Unlock()
	if s == nil {
		a.log.Debug("redis cluster: message for no subscription", "channel", m.Channel)
		return
	}
	a.stats.Received.Add(1)
	if s.last != "" {
		if !namespaces.OffsetAfter(off, s.last) {
			a.log.Debug("redis cluster: message read already", "nsp", s.nsp, "offset", off, "last", s.last)
			return // read already, from the log
		}
		if prev != s.last {
			p.catchUp(s, off)
		}
	}
	s.last = off
	a.deliver(body, off)
}

// catchUp delivers the log entries after s.last and before upTo ("" = to the end), or
// resyncs the namespace when the log no longer holds s.last.
func (p *partition) catchUp(s *sub, upTo string) {
	a := p.a
	if s.last == "" {
		a.resync(s, "events lost")
		return
	}
	end := "+"
	if upTo != "" {
		end = "(" + upTo
	}
	ctx, cancel := context.WithTimeout(a.ctx, 2*time.Second)
	defer cancel()
	msgs, err := a.rdb.XRangeN(ctx, p.logKey(s.nsp), s.last, end, maxCatchUp).Result()
	if err != nil || len(msgs) == 0 || msgs[0].ID != s.last {
		a.log.Warn("redis cluster: events missed and not in the log; the namespace resyncs", "nsp", s.nsp, "err", err)
		a.resync(s, "events lost")
		return
	}
	for _, m := range msgs[1:] {
		a.stats.Received.Add(1)
		a.stats.CaughtUp.Add(1)
		s.last = m.ID
		body, _ := m.Values["p"].(string)
		a.deliver(body, m.ID)
	}
}

// deliver hands one logged broadcast to this node's sockets.
func (a *Cluster) deliver(body, off string) {
	var w wire
	if err := json.Unmarshal([]byte(body), &w); err != nil || w.Nsp == "" {
		a.log.Warn("redis cluster: malformed entry skipped", "offset", off)
		return
	}
	if w.Here && w.Node == a.uid {
		return // published here during an outage: delivered here already
	}
	if w.Resync {
		a.stats.Resyncs.Add(1)
		a.hooks.Resync(w.Nsp, "events lost")
		return
	}
	if w.ID != "" && !a.seen.add(w.ID) {
		return // the second copy of a publish replayed after an uncertain write
	}
	a.hooks.DeliverLocal(w.broadcast(off))
}

// Missed implements namespaces.Adapter.
func (a *Cluster) Missed(ctx context.Context, nsp, off string) ([]*namespaces.Broadcast, bool, error) {
	ms, seq, ok := strings.Cut(off, "-")
	t, err1 := strconv.ParseInt(ms, 10, 64)
	_, err2 := strconv.ParseUint(seq, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return nil, false, nil
	}
	if t < time.Now().Add(-a.window).UnixMilli() {
		return nil, false, nil // older than the window
	}
	p := a.partOf(nsp)
	st, err := stateScript.Run(ctx, a.rdb, []string{p.ownerKey(), p.movedKey(), p.epochKey()}).StringSlice()
	if err != nil || len(st) != 4 {
		return nil, false, fmt.Errorf("fanout: redis cluster partition state: %w", err)
	}
	epoch, err1 := strconv.ParseInt(st[3], 10, 64)
	moved, err2 := strconv.ParseInt(st[2], 10, 64)
	switch {
	case err1 != nil || err2 != nil || t < epoch:
		return nil, false, nil // from before the partition's data began (or it was lost)
	case st[1] != "" && st[1] != st[0]:
		return nil, false, nil // another master wrote last: this one may lack its last writes
	case t <= moved:
		return nil, false, nil // from before the partition changed master
	}
	lost, err := a.rdb.Get(ctx, keyLost).Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, false, fmt.Errorf("fanout: redis cluster lost watermark: %w", err)
	}
	if t <= lost {
		return nil, false, nil // a node was lost since: it may have accepted events it never published
	}
	msgs, err := a.rdb.XRangeN(ctx, p.logKey(nsp), off, "+", a.perNsp+1).Result()
	if err != nil {
		return nil, false, fmt.Errorf("fanout: redis cluster log range: %w", err)
	}
	if len(msgs) == 0 || msgs[0].ID != off {
		return nil, false, nil // trimmed past the client's position, lost, or not an offset of this log
	}
	out := make([]*namespaces.Broadcast, 0, len(msgs)-1)
	ids := make(map[string]struct{}, len(msgs))
	for _, m := range msgs[1:] {
		body, _ := m.Values["p"].(string)
		var w wire
		if json.Unmarshal([]byte(body), &w) != nil || w.Resync {
			return nil, false, nil
		}
		if w.ID != "" {
			if _, dup := ids[w.ID]; dup {
				continue
			}
			ids[w.ID] = struct{}{}
		}
		out = append(out, w.broadcast(m.ID))
	}
	return out, true, nil
}

// SaveSession implements namespaces.Adapter.
func (a *Cluster) SaveSession(ctx context.Context, s namespaces.SessionState) error {
	return saveSession(ctx, a.rdb, keyPID, s, a.window)
}

// TakeSession implements namespaces.Adapter.
func (a *Cluster) TakeSession(ctx context.Context, pid string) (*namespaces.SessionState, error) {
	return takeSession(ctx, a.rdb, keyPID, pid)
}

// Ready implements namespaces.Adapter: the cluster answered the last lease renewal, every
// subscription is confirmed (and none is being re-made) and nothing is queued.
func (a *Cluster) Ready() bool {
	if !a.leased.Load() {
		return false
	}
	a.mu.Lock()
	queued := len(a.pending) > 0 || len(a.overflow) > 0
	a.mu.Unlock()
	if queued {
		return false
	}
	for _, p := range a.parts {
		p.mu.Lock()
		whole := !p.broken
		for _, s := range p.subs {
			whole = whole && (s.confirmed || !s.subscribed)
		}
		p.mu.Unlock()
		if !whole {
			return false
		}
	}
	return true
}

// Abandon makes Close leave this node's lease to expire instead of saying goodbye (see
// Redis.Abandon).
func (a *Cluster) Abandon() {
	a.mu.Lock()
	a.unclean = true
	a.mu.Unlock()
}

// Close implements namespaces.Adapter: it writes what is still queued (for up to 5 s), then
// says goodbye only if nothing accepted here is left unpublished.
func (a *Cluster) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	a.mu.Unlock()
	a.cancel()
	for _, p := range a.parts {
		p.mu.Lock()
		if p.ps != nil {
			_ = p.ps.Close()
		}
		p.mu.Unlock()
	}
	a.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a.flush(ctx)
	a.mu.Lock()
	clean := !a.unclean && len(a.pending) == 0 && len(a.overflow) == 0
	a.mu.Unlock()
	if clean {
		if err := a.rdb.ZRem(ctx, keyLeases, a.uid).Err(); err != nil {
			a.log.Warn("redis cluster goodbye failed; other nodes will resync their sockets when the lease ends", "err", err)
		}
	} else {
		a.log.Warn("stopping with events possibly unpublished; other nodes will resync their sockets when the lease ends")
	}
	return a.rdb.Close()
}

// keepLease renews this node's lease every second (a fifth of the lease at most), declares
// lost the nodes whose lease ended, and resyncs every local socket when any node was
// declared lost (by this node or another), until Close.
func (a *Cluster) keepLease() {
	defer a.wg.Done()
	t := time.NewTicker(min(time.Second, a.lease/5))
	defer t.Stop()
	known := int64(-1)
	for {
		ctx, cancel := context.WithTimeout(a.ctx, time.Second)
		res, err := leaseScript.Run(ctx, a.rdb, []string{keyLeases, keyLost, keyLostSeq}, a.uid, a.lease.Milliseconds()).StringSlice()
		cancel()
		a.leased.Store(err == nil)
		if err != nil {
			a.rdb.ReloadState(a.ctx) // a failover of the lease key's master is found by a new slot map
		}
		if err == nil && len(res) > 0 {
			for _, n := range res[1:] {
				a.stats.NodesLost.Add(1)
				a.log.Warn("node lost without goodbye; every socket is told to resync", "node", n)
			}
			if seq, err := strconv.ParseInt(res[0], 10, 64); err == nil {
				if known >= 0 && seq != known {
					a.stats.Resyncs.Add(1)
					a.hooks.Resync("", "node lost")
				}
				known = seq
			}
		}
		select {
		case <-a.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// recentIDs remembers the last 8,192 IDs added.
type recentIDs struct {
	mu   sync.Mutex
	set  map[string]struct{}
	ring [8192]string
	next int
}

// add records id and reports whether it was new.
func (r *recentIDs) add(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.set[id]; dup {
		return false
	}
	if r.set == nil {
		r.set = make(map[string]struct{}, len(r.ring))
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.set, old)
	}
	r.ring[r.next] = id
	r.next = (r.next + 1) % len(r.ring)
	r.set[id] = struct{}{}
	return true
}

func sleep(ctx context.Context, backoff *time.Duration) {
	d := *backoff/2 + mrand.N(*backoff/2+1)
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
	if *backoff < 2*time.Second {
		*backoff *= 2
	}
}

func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
