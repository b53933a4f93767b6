package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// Transports a fleet can use.
const (
	WebSocket = "websocket"
	Polling   = "polling"
)

// Protocols a fleet can speak over its websockets.
const (
	SocketIO = "socketio" // Engine.IO 4 / Socket.IO 5 (syncgate, the Node and bare peers)
	// Centrifugo is Centrifugo's JSON client protocol: one connect command whose data carries
	// the token and the org, then pushes of the org channel's publications (the connect proxy
	// subscribes the connection server-side), "{}" pings answered with "{}".
	Centrifugo = "centrifugo"
)

// Config describes a fleet of sockets.
type Config struct {
	Addr      string   // host:port of the server under test
	Addrs     []string // when set, several nodes: socket i connects to AddrOf(i) instead of Addr
	Path      string   // Socket.IO path, default "/socket.io/" ("/connection/websocket" for Centrifugo)
	Transport string   // WebSocket (default) or Polling
	Protocol  string   // SocketIO (default) or Centrifugo (websocket only)
	Sockets   int      // how many sockets
	Orgs      int      // socket i joins namespace /org/(i%Orgs+1); default 1
	Users     int      // socket i authenticates as "user(i%Users)"; default Sockets

	ConnectConcurrency int           // sockets connecting at once, default 64
	ConnectTimeout     time.Duration // per socket, default 30s
}

func (c *Config) setDefaults() {
	if c.Protocol == "" {
		c.Protocol = SocketIO
	}
	if c.Path == "" {
		c.Path = "/socket.io/"
		if c.Protocol == Centrifugo {
			c.Path = "/connection/websocket"
		}
	}
	if c.Transport == "" {
		c.Transport = WebSocket
	}
	if c.Orgs <= 0 {
		c.Orgs = 1
	}
	if c.Users <= 0 {
		c.Users = c.Sockets
	}
	if c.ConnectConcurrency <= 0 {
		c.ConnectConcurrency = 64
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 30 * time.Second
	}
}

// OrgOf returns the org that socket i joins.
func (c Config) OrgOf(i int) int { return i%c.Orgs + 1 }

// AddrOf returns the server socket i connects to. With several Addrs the node changes every
// Orgs sockets, so each org has sockets on every node.
func (c Config) AddrOf(i int) string {
	if len(c.Addrs) == 0 {
		return c.Addr
	}
	return c.Addrs[(i/max(c.Orgs, 1))%len(c.Addrs)]
}

// TokenOf returns the bearer token socket i authenticates with.
func (c Config) TokenOf(i int) string { return "user" + strconv.Itoa(i%c.Users) }

// Fleet is a set of sockets plus the send clock shared with a Sender: the time each event
// sequence number was sent, against which every delivery's latency is taken.
type Fleet struct {
	cfg     Config
	base    time.Time      // monotonic origin of all timestamps
	sent    []atomic.Int64 // send time of seq (ns since base), 0 = not sent
	sockets []*Socket
	http    *http.Client // polling transport only
	poll    poller       // epoll loops reading the websocket sockets

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // reader goroutines
}

// NewFleet prepares a fleet able to track event sequence numbers [0, maxSeq).
func NewFleet(cfg Config, maxSeq int) *Fleet {
	cfg.setDefaults()
	f := &Fleet{cfg: cfg, base: time.Now(), sent: make([]atomic.Int64, maxSeq)}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	if cfg.Transport == Polling {
		f.http = &http.Client{Transport: &http.Transport{
			DialContext:         (&net.Dialer{}).DialContext,
			MaxIdleConns:        0,
			MaxIdleConnsPerHost: 2*cfg.Sockets + 16,
			IdleConnTimeout:     5 * time.Minute,
			DisableCompression:  true,
		}}
	}
	for i := range cfg.Sockets {
		f.sockets = append(f.sockets, &Socket{f: f, idx: i, addr: cfg.AddrOf(i), org: cfg.OrgOf(i), token: cfg.TokenOf(i), fd: -1})
	}
	return f
}

// Config returns the fleet's configuration with defaults filled in.
func (f *Fleet) Config() Config { return f.cfg }

// now is the fleet clock: nanoseconds since the fleet was made (monotonic).
func (f *Fleet) now() int64 { return int64(time.Since(f.base)) }

// MarkSent records that seq is being sent now.
func (f *Fleet) MarkSent(seq int) { f.sent[seq].Store(f.now()) }

// Connect opens every socket and joins it to its org namespace, ConnectConcurrency at a
// time. It fails if any socket cannot connect.
func (f *Fleet) Connect(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(f.cfg.ConnectConcurrency)
	for _, s := range f.sockets {
		g.Go(func() error {
			cctx, cancel := context.WithTimeout(ctx, f.cfg.ConnectTimeout)
			defer cancel()
			if err := s.connect(cctx); err != nil {
				return fmt.Errorf("socket %d (%s, org %d): %w", s.idx, s.token, s.org, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("loadgen: connect %d sockets: %w", len(f.sockets), err)
	}
	return nil
}

// Begin starts a measurement phase over sequence numbers [first, first+count): deliveries
// outside it are counted as strays, and every socket's counters start from zero.
func (f *Fleet) Begin(first, count int) {
	for _, s := range f.sockets {
		s.begin(first, count)
	}
}

// Delivered returns the deliveries of the current phase so far (distinct, all sockets).
func (f *Fleet) Delivered() int64 {
	var n int64
	for _, s := range f.sockets {
		n += s.got.Load()
	}
	return n
}

// Alive returns how many sockets are still open.
func (f *Fleet) Alive() int {
	n := 0
	for _, s := range f.sockets {
		if !s.dead.Load() {
			n++
		}
	}
	return n
}

// Wait returns once want deliveries have arrived, or when none arrived for quiet, or ctx
// ends. It reports whether all arrived.
func (f *Fleet) Wait(ctx context.Context, want int64, quiet time.Duration) bool {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	last, lastChange := int64(-1), time.Now()
	for {
		n := f.Delivered()
		if n >= want {
			return true
		}
		if n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > quiet {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}

// Close closes every socket and waits for their goroutines.
func (f *Fleet) Close() {
	f.cancel()
	f.poll.stop()
	for _, s := range f.sockets {
		s.dead.Store(true)
		s.releaseFD()
	}
	f.wg.Wait()
	if f.http != nil {
		f.http.CloseIdleConnections()
	}
}

// errAwaitingAck wraps a connection that ended (or timed out) after the CONNECT was sent and
// before its answer: a socket left hanging.
var errAwaitingAck = errors.New("loadgen: awaiting CONNECT ack")

// ErrRefused is a CONNECT the server refused (a Socket.IO CONNECT_ERROR).
var ErrRefused = errors.New("loadgen: namespace refused the socket")

// CloseSocket closes socket i, as if its connection dropped.
func (f *Fleet) CloseSocket(i int) { f.sockets[i].close() }
