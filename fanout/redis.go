package fanout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/syncgate/syncgate/namespaces"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis spreads broadcasts over every node through Redis, with a constant number of
// Redis connections per node whatever the number of namespaces:
//
//   - Every broadcast is appended, by one Lua script, to its namespace's log stream (the
//     recovery log, trimmed to the recovery window) and to one bus stream that every node
//     reads with a single blocking XREAD. The bus gives every node every broadcast in one
//     order; a node that loses Redis resumes reading where it stopped, so nothing is
//     skipped while the entries are still there, and it tells its sockets to resync when it
//     cannot prove that (Redis restarted, or the bus was trimmed past its position).
//
//   - A publish that cannot reach Redis is delivered to this node's sockets at once and
//     queued (bounded); the queue is written to the bus when Redis is back, so other nodes
//     get the events late instead of never. When the queue overflows, the namespaces
//     concerned get a resync marker instead.
//
//   - Broadcasts published by the reference @socket.io/redis-emitter (and by other
//     emitters of the reference redis-adapter protocol: msgpack on socket.io#<nsp>#
//     channels) are delivered through one PSUBSCRIBE. They are live only: not logged, so not
//     recoverable.
//
//   - Every node holds a lease in Redis, renewed every second. A node that goes away
//     without saying goodbye (kill -9, a crash, a graceful stop that could not publish
//     everything, a network stall longer than the lease) may have accepted mutations whose
//     events never reached Redis. The first node to see its lease expire declares it lost,
//     in one script: a resync marker for every namespace goes on the bus (every socket on
//     every node is told to resync) and a "lost" watermark is set, so a recovery from an
//     offset older than the loss is not called complete.
//
// Recovery sessions are kept as keys with the recovery window as TTL.
type Redis struct {
	rdb     redis.UniversalClient
	uid     string
	window  time.Duration
	perNsp  int64
	busMax  int64
	maxPend int
	lease   time.Duration
	log     *slog.Logger

	hooks  namespaces.AdapterHooks
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	pubSeq   atomic.Uint64
	seen     recentIDs // bus reader: IDs of the last broadcasts delivered, to drop replayed copies
	busUp    atomic.Bool
	epoch    atomic.Int64 // the Redis data epoch last seen by the bus reader (see dataEpoch)
	runID    string       // the Redis process the bus reader last reached (INFO run_id); reader only
	dataLost atomic.Bool  // the lease keeper saw another epoch: the bus reader must reconnect

	// This node's broadcasts written to the bus and not read back yet (its sockets get them
	// from the bus reader). When a later publish has to be delivered locally (Redis down),
	// these go first, without their offsets (they may overtake other nodes' entries the
	// reader has not delivered yet, which must not then look old to a socket), so this
	// node's sockets see its events in the order they were published. Their bus copies,
	// read later, are dropped by ID (delivered). Both are forgotten when the bus they were
	// on is gone (Redis lost its data, or entries were trimmed before being read): the
	// resync covers them. fallbackMu makes concurrent fallbacks deliver in turn;
	// deliverMu (a lock per bus worker, by namespace: stripeOf) orders a fallback's
	// deliveries against the bus reader's.
	unreadMu   sync.Mutex
	unread     []*namespaces.Broadcast
	delivered  map[string]struct{} // bus IDs of unread broadcasts the fallback delivered
	fallbackMu sync.Mutex
	deliverMu  []sync.Mutex
	workers    int // RedisOptions.BusWorkers

	mu       sync.Mutex
	pending  []*namespaces.Broadcast
	overflow map[string]struct{}
	unclean  bool // Abandon: leave the lease to expire instead of saying goodbye
	closed   bool

	stats RedisStats
}

// RedisStats counts what the adapter did, for metrics and tests.
type RedisStats struct {
	Published       atomic.Int64 // broadcasts written to Redis
	PublishFailures atomic.Int64 // broadcasts Redis did not take at once (queued)
	Received        atomic.Int64 // broadcasts from other nodes delivered here
	BusRead         atomic.Int64 // bus entries read (every node's, markers included)
	EmitterReceived atomic.Int64 // broadcasts from reference-protocol emitters delivered here
	Replayed        atomic.Int64 // queued broadcasts written after Redis came back
	Resyncs         atomic.Int64 // resync notices issued (per namespace, or all)
	Reconnects      atomic.Int64 // times the bus reader recovered from an error
	NodesLost       atomic.Int64 // other nodes this node declared lost (lease expired)
}

// RedisOptions configure NewRedis.
type RedisOptions struct {
	Client         redis.UniversalClient
	RecoveryWindow time.Duration // how long logs and sessions are kept; default 2m
	PerNamespace   int64         // broadcasts kept per namespace log, default 1,000
	BusLength      int64         // entries kept on the bus, default 100,000
	MaxPending     int           // publishes queued while Redis is unreachable, default 10,000
	// NodeLease is how long a node that stopped renewing its lease (every second) is
	// still believed alive; past it, it is declared lost and every socket resyncs.
	// Default 5s.
	NodeLease time.Duration
	// BusWorkers is how many goroutines deliver what the bus reader reads, keyed by
	// namespace (one namespace stays in order on one worker). Default GOMAXPROCS, at most
	// 8; 1 delivers on the reader itself.
	BusWorkers int
	Logger     *slog.Logger
}

// Redis keys. The {sg} hash tag keeps every key in one cluster slot, so the publish script
// can touch the log and the bus together.
const (
	redisBus           = "syncgate:{sg}:bus"
	redisLogPrefix     = "syncgate:{sg}:log:"
	redisPIDPrefix     = "syncgate:{sg}:pid:"
	redisEpoch         = "syncgate:{sg}:epoch"
	redisBusSeq        = "syncgate:{sg}:busseq"
	redisEmitterPrefix = "syncgate:{sg}:emitted:"
	redisLeases        = "syncgate:{sg}:leases" // sorted set: node ID → lease end (Redis time, ms)
	redisLost          = "syncgate:{sg}:lost"   // Redis time (ms) when a node was last declared lost
	emitterPattern     = "socket.io#*"
	allNamespaces      = "*" // Nsp of a bus resync marker meant for every namespace
)

// redisLeaseScript renews this node's lease and declares lost every node whose lease ended:
// their leases are removed, the lost watermark is set to now, and one resync marker for
// every namespace goes on the bus (with its sequence number). It returns the data epoch
// (see dataEpoch; set here if missing) followed by the lost nodes. Redis's own clock is
// used throughout, so the nodes' clocks do not matter.
var redisLeaseScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[1] ~= '' then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
end
redis.call('SET', KEYS[5], now, 'NX')
local epoch = redis.call('GET', KEYS[5])
local lost = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #lost > 0 then
  redis.call('ZREM', KEYS[1], unpack(lost))
  redis.call('SET', KEYS[2], now)
  local seq = redis.call('INCR', KEYS[4])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'p', ARGV[4], 'n', 'lease', 's', seq, 'l', '0')
end
table.insert(lost, 1, epoch)
return lost
`)

// redisPublishScript appends a broadcast to its namespace log (trimmed by length and age,
// expiring when idle) and to the bus, and returns the log offset.
// Every bus entry carries a sequence number from one counter, incremented in the same
// script, so a reader sees a gap (trimmed or lost entries) as a jump in the sequence.
var redisPublishScript = redis.NewScript(`
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], '*', 'p', ARGV[1])
redis.call('XTRIM', KEYS[1], 'MINID', '~', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
local seq = redis.call('INCR', KEYS[3])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'p', ARGV[1], 'o', id, 'n', ARGV[2], 's', seq, 'l', ARGV[7])
return id
`)

// ParseRedisURL returns a client for a redis:// or rediss:// URL.
func ParseRedisURL(u string) (redis.UniversalClient, error) {
	opt, err := redis.ParseURL(u)
	if err != nil {
		return nil, fmt.Errorf("fanout: redis URL: %w", err)
	}
	opt.PoolSize = 4 // constant per node: publishes, the bus reader, session keys
	opt.MaxRetries = 1
	opt.DialTimeout = 2 * time.Second
	return redis.NewClient(opt), nil
}

// NewRedis returns an adapter on the given client. It starts reading when the
// server calls Init, and works (single node, queueing) while Redis is unreachable.
func NewRedis(o RedisOptions) *Redis {
	if o.RecoveryWindow <= 0 {
		o.RecoveryWindow = 2 * time.Minute
	}
	if o.PerNamespace <= 0 {
		o.PerNamespace = 1000
	}
	if o.BusLength <= 0 {
		o.BusLength = 100_000
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 10_000
	}
	if o.NodeLease <= 0 {
		o.NodeLease = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.BusWorkers <= 0 {
		o.BusWorkers = defaultBusWorkers()
	}
	a := &Redis{
		workers:   o.BusWorkers,
		deliverMu: make([]sync.Mutex, o.BusWorkers),
		rdb:       o.Client,
		uid:       newID(),
		window:    o.RecoveryWindow,
		perNsp:    o.PerNamespace,
		busMax:    o.BusLength,
		maxPend:   o.MaxPending,
		lease:     o.NodeLease,
		log:       o.Logger,
		overflow:  make(map[string]struct{}),
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	return a
}

// Pending returns how many publishes wait for Redis to come back (delivered here already).
func (a *Redis) Pending() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending)
}

// Stats returns the adapter's counters.
func (a *Redis) Stats() *RedisStats { return &a.stats }

// Init implements Adapter: it starts the bus reader, the emitter subscription and the
// lease keeper.
func (a *Redis) Init(h namespaces.AdapterHooks) {
	a.hooks = h
	a.wg.Add(3)
	go a.readBus()
	go a.readEmitters()
	go a.keepLease()
}

// keepLease renews this node's lease every second (a fifth of the lease at most) and
// declares lost the nodes whose lease ended, until Close.
func (a *Redis) keepLease() {
	defer a.wg.Done()
	period := min(time.Second, a.lease/5)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		a.renewLease(a.uid)
		select {
		case <-a.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// renewLease runs the lease script once; uid "" only looks for lost nodes.
func (a *Redis) renewLease(uid string) {
	ctx, cancel := context.WithTimeout(a.ctx, time.Second)
	defer cancel()
	marker, _ := json.Marshal(wireBroadcast{Nsp: allNamespaces, Event: namespaces.EventResync, Resync: true})
	res, err := redisLeaseScript.Run(ctx, a.rdb, []string{redisLeases, redisLost, redisBus, redisBusSeq, redisEpoch},
		uid, a.lease.Milliseconds(), a.busMax, marker).StringSlice()
	if err != nil || len(res) == 0 {
		return // Redis unreachable: the bus reader reports it
	}
	if ep, err := strconv.ParseInt(res[0], 10, 64); err == nil {
		if seen := a.epoch.Load(); seen != 0 && ep != seen {
			// Redis lost its data, and came back faster than the bus reader noticed (its
			// blocking read was retried on a new connection without an error): make it
			// re-establish its position, which resyncs this node's sockets.
			a.dataLost.Store(true)
		}
	}
	for _, n := range res[1:] {
		a.stats.NodesLost.Add(1)
		a.log.Warn("node lost without goodbye; every socket is told to resync", "node", n)
	}
}

// Abandon makes Close leave this node's lease to expire instead of saying goodbye: the
// caller knows some accepted mutation may not have been published (a shutdown that timed
// out with calls in flight), so the other nodes must resync their sockets.
func (a *Redis) Abandon() {
	a.mu.Lock()
	a.unclean = true
	a.mu.Unlock()
}

// Ready implements Adapter: the bus reader is connected and nothing is queued.
func (a *Redis) Ready() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.busUp.Load() && len(a.pending) == 0 && len(a.overflow) == 0
}

// Close implements namespaces.Adapter. It writes what is still queued (for up to 5 s), then says
// goodbye — removes its lease — only if nothing accepted here is left unpublished;
// otherwise the lease expires and the other nodes resync their sockets.
func (a *Redis) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	a.mu.Unlock()
	a.cancel()
	a.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a.flushPendingCtx(ctx)
	a.mu.Lock()
	clean := !a.unclean && len(a.pending) == 0 && len(a.overflow) == 0
	left := len(a.pending)
	a.mu.Unlock()
	if clean {
		if err := a.rdb.ZRem(ctx, redisLeases, a.uid).Err(); err != nil {
			a.log.Warn("redis goodbye failed; other nodes will resync their sockets when the lease ends", "err", err)
		}
	} else {
		a.log.Warn("stopping with events possibly unpublished; other nodes will resync their sockets when the lease ends",
			"queued", left, "lease", a.lease)
	}
	return a.rdb.Close()
}

// wireBroadcast is a broadcast as stored in Redis (IDs-only payloads are JSON-friendly).
type wireBroadcast struct {
	Nsp    string   `json:"nsp"`
	Rooms  []string `json:"rooms,omitempty"`
	Except []string `json:"except,omitempty"`
	Event  string   `json:"event"`
	Args   []any    `json:"args,omitempty"`
	Resync bool     `json:"resync,omitempty"` // a marker: the namespace lost events
	ID     string   `json:"id,omitempty"`     // unique per publish: a replayed one is recognised

	SkipSocket   string   `json:"skip,omitempty"`
	SkipOwners   []string `json:"owners,omitempty"`
	ExceptSender string   `json:"xsender,omitempty"`
	TraceID      string   `json:"trace,omitempty"` // the causing call's trace (tracing on)
}

func toWire(b *namespaces.Broadcast) wireBroadcast {
	return wireBroadcast{Nsp: b.Nsp, Rooms: b.Rooms, Except: b.Except, Event: b.Event, Args: b.Args,
		SkipSocket: b.SkipSocket, SkipOwners: b.SkipOwners, ExceptSender: b.ExceptSender, ID: b.BusID(), TraceID: b.TraceID}
}

func (w wireBroadcast) broadcast() *namespaces.Broadcast {
	b := &namespaces.Broadcast{Nsp: w.Nsp, Rooms: w.Rooms, Except: w.Except, Event: w.Event, Args: w.Args,
		SkipSocket: w.SkipSocket, SkipOwners: w.SkipOwners, ExceptSender: w.ExceptSender, TraceID: w.TraceID}
	b.SetBusID(w.ID)
	return b
}

// Publish implements namespaces.Adapter. Local sockets get b at once in every case.
func (a *Redis) Publish(b *namespaces.Broadcast) error {
	if namespaces.HasBinary(b.Args) {
		return fmt.Errorf("fanout: redis adapter: binary arguments cannot be broadcast")
	}
	b.SetBusID(a.uid + "." + strconv.FormatUint(a.pubSeq.Add(1), 36))
	payload, err := json.Marshal(toWire(b))
	if err != nil {
		return fmt.Errorf("fanout: redis adapter: encode: %w", err)
	}
	a.mu.Lock()
	queued := len(a.pending) > 0 // keep order: never overtake queued publishes
	a.mu.Unlock()
	if !queued && a.busUp.Load() {
		a.addUnread(b) // before the write: the reader may read it back at once
		if off, err := a.write(payload, b.Nsp, false); err == nil {
			// This node's sockets get it from the bus reader, in bus order with the
			// other nodes' broadcasts, so offsets reach every socket in order.
			b.Offset = off
			a.stats.Published.Add(1)
			return nil
		} else {
			a.dropUnread(b)
			a.log.Warn("redis publish failed; delivering locally and queueing", "nsp", b.Nsp, "event", b.Event, "err", err)
		}
	}
	a.stats.PublishFailures.Add(1)
	// A write that timed out may still be carried out by Redis (a network stall: its bytes
	// arrive later), and the replay then writes it a second time: whichever copy comes
	// second is dropped by ID, here (delivered locally now) and on the other nodes.
	a.fallbackMu.Lock()
	defer a.fallbackMu.Unlock()
	for _, u := range a.takeUnread() { // written before b, not read back: they go first
		mu := a.deliveryLock(u.Nsp)
		mu.Lock()
		if a.seen.add(u.BusID()) {
			a.hooks.DeliverLocal(u)
		}
		mu.Unlock()
	}
	mu := a.deliveryLock(b.Nsp)
	mu.Lock()
	// Unless it went out already: taken as unread by another failed publish while its own
	// write was in flight, or read back because the write did reach Redis.
	if a.seen.add(b.BusID()) {
		a.hooks.DeliverLocal(b)
	}
	mu.Unlock()
	a.mu.Lock()
	if len(a.pending) < a.maxPend {
		a.pending = append(a.pending, b)
	} else {
		a.overflow[b.Nsp] = struct{}{}
	}
	a.mu.Unlock()
	return nil
}

// deliveryLock is the lock ordering the local deliveries of namespace nsp.
func (a *Redis) deliveryLock(nsp string) *sync.Mutex {
	return &a.deliverMu[stripeOf(nsp, len(a.deliverMu))]
}

// maxUnread bounds Redis.unread; past it the oldest are forgotten (the bus reader
// still delivers them; only their order against a local delivery is no longer kept).
const maxUnread = 10_000

func (a *Redis) addUnread(b *namespaces.Broadcast) {
	a.unreadMu.Lock()
	if len(a.unread) >= maxUnread {
		a.unread[0] = nil
		a.unread = a.unread[1:]
	}
	a.unread = append(a.unread, b)
	a.unreadMu.Unlock()
}

// dropUnread forgets b: its write failed (it is delivered by the fallback itself).
func (a *Redis) dropUnread(b *namespaces.Broadcast) { _ = a.readBack(b.BusID()) }

// takeUnread returns offset-less copies of the unread broadcasts, oldest first, and moves
// their IDs to the delivered set (their bus copies are then dropped when read back).
func (a *Redis) takeUnread() []*namespaces.Broadcast {
	a.unreadMu.Lock()
	defer a.unreadMu.Unlock()
	out := make([]*namespaces.Broadcast, len(a.unread))
	if len(a.unread) > 0 && a.delivered == nil {
		a.delivered = make(map[string]struct{}, len(a.unread))
	}
	for i, u := range a.unread {
		out[i] = toWire(u).broadcast()
		if len(a.delivered) < 2*maxUnread {
			a.delivered[u.BusID()] = struct{}{}
		}
	}
	a.unread = nil
	return out
}

// readBack notes that this node's entry with bus ID id was read from the bus, and
// reports whether the fallback delivered it already (its copy is then dropped).
func (a *Redis) readBack(id string) (deliveredAlready bool) {
	a.unreadMu.Lock()
	defer a.unreadMu.Unlock()
	if _, ok := a.delivered[id]; ok {
		delete(a.delivered, id)
		return true
	}
	for i, u := range a.unread {
		if u.BusID() == id {
			copy(a.unread[i:], a.unread[i+1:])
			a.unread[len(a.unread)-1] = nil
			a.unread = a.unread[:len(a.unread)-1]
			if len(a.unread) == 0 {
				a.unread = nil
			}
			break
		}
	}
	return false
}

// forgetUnread drops every unread broadcast and delivered ID: the bus they were on is
// gone (Redis lost its data) or was trimmed past them, and a resync covers them.
func (a *Redis) forgetUnread() {
	a.unreadMu.Lock()
	a.unread, a.delivered = nil, nil
	a.unreadMu.Unlock()
}

// write runs the publish script and returns the log offset.
func (a *Redis) write(payload []byte, nsp string, deliveredHere bool) (string, error) {
	return a.writeCtx(a.ctx, payload, nsp, deliveredHere)
}

func (a *Redis) writeCtx(ctx context.Context, payload []byte, nsp string, deliveredHere bool) (string, error) {
	here := "0"
	if deliveredHere {
		here = "1"
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	minID := strconv.FormatInt(time.Now().Add(-a.window).UnixMilli(), 10)
	res, err := redisPublishScript.Run(ctx, a.rdb, []string{redisLogPrefix + nsp, redisBus, redisBusSeq},
		payload, a.uid, a.perNsp, a.busMax, minID, a.window.Milliseconds(), here).Text()
	if err != nil {
		return "", fmt.Errorf("fanout: redis publish: %w", err)
	}
	return res, nil
}

// flushPending writes the publishes queued during an outage, then resync markers for the
// namespaces whose events could not all be queued.
func (a *Redis) flushPending() { a.flushPendingCtx(a.ctx) }

func (a *Redis) flushPendingCtx(ctx context.Context) {
	for {
		a.mu.Lock()
		if len(a.pending) == 0 {
			a.mu.Unlock()
			break
		}
		b := a.pending[0]
		a.mu.Unlock()
		payload, _ := json.Marshal(toWire(b))
		if _, err := a.writeCtx(ctx, payload, b.Nsp, true); err != nil {
			return // still down; the reader retries
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
		payload, _ := json.Marshal(wireBroadcast{Nsp: n, Event: namespaces.EventResync, Resync: true})
		if _, err := a.writeCtx(ctx, payload, n, true); err != nil { // this node's sockets lost nothing
			return
		}
		a.mu.Lock()
		delete(a.overflow, n)
		a.mu.Unlock()
	}
}

// readBus delivers every other node's broadcasts, in bus order, until Close.
func (a *Redis) readBus() {
	defer a.wg.Done()
	last := ""           // bus position; "" until known
	var next int64       // the bus sequence number expected next; 0 until known
	failedStart := false // Redis was unreachable when this node started serving
	broken := true       // a fresh start counts as a reconnect: establish the position
	backoff := 50 * time.Millisecond
	// After Redis lost its data the reader starts from the bus's beginning, delivering only
	// this node's own entries up to ownThrough (the head when it reconnected).
	ownThrough := "" // "" when every entry is delivered
	workers := newBusWorkers(a.workers, a.deliverBus)
	defer workers.stop()
	for a.ctx.Err() == nil {
		if a.dataLost.Swap(false) && !broken {
			a.busUp.Store(false)
			broken = true
		}
		if broken {
			workers.barrier() // what was read before goes out before a resync
			pos, through, err := a.reconnect(last, failedStart)
			if err != nil {
				a.busUp.Store(false)
				failedStart = failedStart || last == ""
				sleep(a.ctx, &backoff)
				continue
			}
			if pos != last {
				// Continuity was lost (and the sockets told to resync) or this is the
				// start: the sequence starts over from what comes next.
				next = 0
			}
			last, broken, backoff = pos, false, 50*time.Millisecond
			ownThrough = through
			a.busUp.Store(true)
			a.flushPending()
		}
		res, err := a.rdb.XRead(a.ctx, &redis.XReadArgs{Streams: []string{redisBus, last}, Count: 512, Block: time.Second}).Result()
		if errors.Is(err, redis.Nil) {
			if a.hasPending() {
				a.flushPending()
			}
			continue
		}
		if err != nil {
			if a.ctx.Err() != nil {
				return
			}
			a.log.Warn("redis bus read failed; delivering locally until it is back", "err", err)
			a.busUp.Store(false)
			broken = true
			continue
		}
		for _, s := range res {
			for _, m := range s.Messages {
				if seq, err := strconv.ParseInt(fmt.Sprint(m.Values["s"]), 10, 64); err == nil {
					if next != 0 && seq < next {
						// The counter started over: Redis lost its data under this reader
						// (it came back before a read failed). What was not read yet is gone.
						a.log.Warn("redis bus sequence started over (redis lost its data); telling local sockets to resync",
							"want_seq", next, "got_seq", seq)
						workers.barrier()
						a.forgetUnread()
						a.stats.Resyncs.Add(1)
						a.hooks.Resync("", "redis reconnected")
						if ep, err := a.dataEpoch(a.ctx); err == nil {
							a.epoch.Store(ep) // so the reconnect check does not resync again
						}
						if id, err := a.serverRunID(a.ctx); err == nil {
							a.runID = id
						}
					}
					if next != 0 && seq > next {
						// Entries were trimmed before this node read them, or Redis lost data.
						a.log.Warn("redis bus gap; telling local sockets to resync", "want_seq", next, "got_seq", seq)
						workers.barrier()
						a.forgetUnread()
						a.stats.Resyncs.Add(1)
						a.hooks.Resync("", "events lost")
					}
					next = seq + 1
				}
				last = m.ID
				a.stats.BusRead.Add(1)
				if ownThrough != "" {
					if namespaces.OffsetAfter(m.ID, ownThrough) {
						ownThrough = ""
					} else if n, _ := m.Values["n"].(string); n != a.uid {
						continue
					}
				}
				workers.dispatch(m)
			}
		}
		if a.hasPending() {
			a.flushPending()
		}
	}
}

func (a *Redis) hasPending() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending) > 0 || len(a.overflow) > 0
}

// reconnect re-establishes the bus position after a start or an error. With a known
// position it checks that nothing after it is gone; otherwise this node's sockets are told
// to resync. It returns the position to read from, and, after Redis lost its data, the
// bus head up to which only this node's own entries are to be delivered (see readBus).
func (a *Redis) reconnect(last string, failedStart bool) (pos, ownThrough string, err error) {
	ctx, cancel := context.WithTimeout(a.ctx, 2*time.Second)
	defer cancel()
	ep, err := a.dataEpoch(ctx)
	if err != nil {
		return "", "", err
	}
	runID, err := a.serverRunID(ctx)
	if err != nil {
		return "", "", err
	}
	prevRun := a.runID
	a.runID = runID
	prevEpoch := a.epoch.Swap(ep)
	info, err := a.rdb.XInfoStream(ctx, redisBus).Result()
	head := "0-0"
	switch {
	case err == nil:
		head = info.LastGeneratedID
	case strings.Contains(err.Error(), "no such key"):
		info = nil
	default:
		return "", "", fmt.Errorf("fanout: redis bus info: %w", err)
	}
	if last == "" { // first start: read what comes next
		if failedStart {
			// Sockets joined here while Redis was unreachable: whatever other nodes
			// published meanwhile never reached them.
			a.log.Warn("redis reached after serving without it; telling local sockets to resync")
			a.stats.Resyncs.Add(1)
			a.hooks.Resync("", "redis reconnected")
		}
		return head, "", nil
	}
	a.stats.Reconnects.Add(1)
	restarted := prevEpoch != 0 && ep != prevEpoch
	if restarted || (info == nil && last != "0-0") {
		a.log.Warn("redis bus continuity lost; telling local sockets to resync", "data_lost", restarted)
		a.forgetUnread()
		a.stats.Resyncs.Add(1)
		a.hooks.Resync("", "redis reconnected")
		// This node's own publishes that reached the new data set before its reader
		// noticed are on the bus only: read it from its start so that its sockets get
		// them, after the resync. Other nodes' entries up to here are covered by the resync.
		return "0-0", head, nil
	}
	if prevRun != "" && runID != prevRun {
		// Another Redis process with the same data: a restart that kept its data, or a
		// Sentinel failover to a replica. Either may have lost writes it had acknowledged
		// (persistence lag, asynchronous replication) without a trace on the bus: every
		// socket resyncs, and recoveries from before now are not called complete. What the
		// bus still has after this node's position is read as usual.
		a.log.Warn("redis is another server process (restart or failover); telling local sockets to resync")
		if err := redisMarkLostScript.Run(ctx, a.rdb, []string{redisLost}).Err(); err != nil {
			a.runID = prevRun // try again on the next reconnect
			return "", "", fmt.Errorf("fanout: redis lost watermark: %w", err)
		}
		a.forgetUnread()
		a.stats.Resyncs.Add(1)
		a.hooks.Resync("", "redis reconnected")
		return last, "", nil
	}
	a.log.Info("redis bus reconnected; resuming where it stopped")
	return last, "", nil
}

// redisMarkLostScript raises the lost watermark to Redis's now: recoveries from offsets
// at or before it are not complete (Missed).
var redisMarkLostScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if now > cur then redis.call('SET', KEYS[1], now) end
return now`)

// serverRunID is the identity of the Redis process answering now (INFO server run_id).
func (a *Redis) serverRunID(ctx context.Context) (string, error) {
	info, err := a.rdb.Info(ctx, "server").Result()
	if err != nil {
		return "", fmt.Errorf("fanout: redis info: %w", err)
	}
	for _, line := range strings.Split(info, "\n") {
		if id, ok := strings.CutPrefix(strings.TrimSpace(line), "run_id:"); ok {
			return id, nil
		}
	}
	return "", errors.New("fanout: redis info: no run_id")
}

// dataEpoch returns when the Redis data set began (unix ms): a key written once, with NX,
// by the first node that finds it missing. A Redis that lost its data (restarted without
// persistence, flushed, failed over to an empty replica) gets a new epoch, so offsets and
// bus positions from before it are known to be unreliable; a restart that kept its data
// keeps its epoch.
func (a *Redis) dataEpoch(ctx context.Context) (int64, error) {
	if err := a.rdb.SetNX(ctx, redisEpoch, time.Now().UnixMilli(), 0).Err(); err != nil {
		return 0, fmt.Errorf("fanout: redis epoch: %w", err)
	}
	ep, err := a.rdb.Get(ctx, redisEpoch).Int64()
	if err != nil {
		return 0, fmt.Errorf("fanout: redis epoch: %w", err)
	}
	return ep, nil
}

func (a *Redis) deliverBus(m redis.XMessage) {
	n, _ := m.Values["n"].(string)
	if n == a.uid && m.Values["l"] == "1" {
		return // published here during an outage: delivered here already
	}
	p, _ := m.Values["p"].(string)
	var w wireBroadcast
	if err := json.Unmarshal([]byte(p), &w); err != nil || w.Nsp == "" {
		a.log.Warn("redis bus: malformed entry skipped", "id", m.ID)
		return
	}
	if w.Resync {
		a.stats.Resyncs.Add(1)
		if w.Nsp == allNamespaces {
			a.hooks.Resync("", "node lost")
			return
		}
		a.hooks.Resync(w.Nsp, "events lost")
		return
	}
	mu := a.deliveryLock(w.Nsp)
	mu.Lock()
	defer mu.Unlock()
	if n == a.uid && w.ID != "" && a.readBack(w.ID) {
		return // delivered here by a fallback already (without its offset)
	}
	if w.ID != "" && !a.seen.add(w.ID) {
		return // the second copy of a publish replayed after an uncertain write, or delivered here already
	}
	b := w.broadcast()
	b.Offset, _ = m.Values["o"].(string)
	a.stats.Received.Add(1)
	a.hooks.DeliverLocal(b)
}

// Missed implements namespaces.Adapter.
func (a *Redis) Missed(ctx context.Context, nsp, off string) ([]*namespaces.Broadcast, bool, error) {
	ms, ok := offsetMillis(off)
	if !ok {
		return nil, false, nil
	}
	if ms < time.Now().Add(-a.window).UnixMilli() {
		return nil, false, nil // older than the window
	}
	ep, err := a.dataEpoch(ctx)
	if err != nil {
		return nil, false, err
	}
	if ms < ep {
		return nil, false, nil // from before Redis lost its data (or before the log began)
	}
	lost, err := a.rdb.Get(ctx, redisLost).Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, false, fmt.Errorf("fanout: redis lost watermark: %w", err)
	}
	if ms <= lost {
		return nil, false, nil // a node was lost since: it may have accepted events it never published
	}
	// The client's own last entry must still be in the log: trimming removes the oldest
	// entries first, so then every entry after it is there too.
	msgs, err := a.rdb.XRange(ctx, redisLogPrefix+nsp, off, "+").Result()
	if err != nil {
		return nil, false, fmt.Errorf("fanout: redis log range: %w", err)
	}
	if len(msgs) == 0 || msgs[0].ID != off {
		return nil, false, nil // trimmed past the client's position, lost, or not an offset of this log
	}
	msgs = msgs[1:]
	out := make([]*namespaces.Broadcast, 0, len(msgs))
	ids := make(map[string]struct{}, len(msgs))
	for _, m := range msgs {
		p, _ := m.Values["p"].(string)
		var w wireBroadcast
		if json.Unmarshal([]byte(p), &w) != nil {
			return nil, false, nil
		}
		if w.Resync {
			return nil, false, nil // the namespace lost events after off
		}
		if w.ID != "" {
			if _, dup := ids[w.ID]; dup {
				continue // a publish replayed after an uncertain write
			}
			ids[w.ID] = struct{}{}
		}
		b := w.broadcast()
		b.Offset = m.ID
		out = append(out, b)
	}
	return out, true, nil
}

// SaveSession implements namespaces.Adapter.
func (a *Redis) SaveSession(ctx context.Context, s namespaces.SessionState) error {
	return saveSession(ctx, a.rdb, redisPIDPrefix, s, a.window)
}

// TakeSession implements namespaces.Adapter.
func (a *Redis) TakeSession(ctx context.Context, pid string) (*namespaces.SessionState, error) {
	return takeSession(ctx, a.rdb, redisPIDPrefix, pid)
}

// NodeInfo is what each node announces about itself in Redis, for the status page.
type NodeInfo struct {
	ID          string         `json:"id"`
	Seen        time.Time      `json:"seen"`
	Connections map[string]int `json:"connections"`
	Orgs        int            `json:"orgs"`
}

const redisNodePrefix = "syncgate:{sg}:node:"

// NodeID returns this node's ID on the bus.
func (a *Redis) NodeID() string { return a.uid }

// Announce records this node's info for 15 s; callers repeat it every few seconds.
func (a *Redis) Announce(ctx context.Context, info NodeInfo) error {
	info.ID, info.Seen = a.uid, time.Now().UTC()
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	return a.rdb.Set(ctx, redisNodePrefix+a.uid, b, 15*time.Second).Err()
}

// Nodes returns the nodes that announced themselves in the last 15 s.
func (a *Redis) Nodes(ctx context.Context) ([]NodeInfo, error) {
	var out []NodeInfo
	iter := a.rdb.Scan(ctx, 0, redisNodePrefix+"*", 100).Iterator()
	for n := 0; iter.Next(ctx) && n < 1000; n++ {
		b, err := a.rdb.Get(ctx, iter.Val()).Bytes()
		if err != nil {
			continue
		}
		var ni NodeInfo
		if json.Unmarshal(b, &ni) == nil {
			out = append(out, ni)
		}
	}
	return out, iter.Err()
}

// offsetMillis is the time part of a log offset "ms-seq" (a Redis stream ID).
func offsetMillis(off string) (int64, bool) {
	ms, seq, ok := strings.Cut(off, "-")
	if !ok {
		return 0, false
	}
	t, err1 := strconv.ParseInt(ms, 10, 64)
	_, err2 := strconv.ParseUint(seq, 10, 64)
	return t, err1 == nil && err2 == nil && t >= 0
}
