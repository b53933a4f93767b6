package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Socket is one Socket.IO client of a fleet, in one org namespace.
type Socket struct {
	f     *Fleet
	idx   int
	addr  string // host:port of the node it connects to
	org   int
	admit time.Duration // CONNECT sent → CONNECT answer (websocket only), 0 = no answer
	token string

	// websocket transport, read by an epoll loop once connected (poller_linux.go); rmu
	// serialises the loop's reads with the hand-over and with shutdown
	rmu     sync.Mutex
	fd      int // raw descriptor, -1 when none
	partial []byte
	mask    [4]byte

	poll *pollConn             // polling transport
	dead atomic.Bool           // the connection ended
	got  atomic.Int64          // distinct in-phase deliveries (read by Fleet.Delivered)
	mu   sync.Mutex            // guards win
	win  window                // the current phase's record
	err  atomic.Pointer[error] // why the connection ended
}

// window is one socket's record of a measurement phase.
type window struct {
	first, count int
	seen         []uint64 // bitset over [first, first+count)
	got, dup     int
	stray        int
	lat          []uint32 // latency of each distinct delivery, microseconds
	last         int64    // fleet-clock time of the last delivery
}

func (s *Socket) begin(first, count int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.win = window{first: first, count: count, seen: make([]uint64, (count+63)/64), lat: s.win.lat[:0]}
	s.got.Store(0)
}

func (s *Socket) nsp() string { return "/org/" + strconv.Itoa(s.org) }

func (s *Socket) connectPacket() string {
	return "40" + s.nsp() + `,{"token":"` + s.token + `"}`
}

func (s *Socket) connect(ctx context.Context) error {
	if s.f.cfg.Protocol == Centrifugo {
		return s.connectCentrifugo(ctx)
	}
	if s.f.cfg.Transport == Polling {
		return s.connectPolling(ctx)
	}
	return s.connectWS(ctx)
}

// connectWS: upgrade, read the Engine.IO open packet, CONNECT to the namespace, await its ack.
func (s *Socket) connectWS(ctx context.Context) error {
	ws, err := dialWS(ctx, s.addr, s.f.cfg.Path+"?EIO=4&transport=websocket")
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = ws.nc.SetDeadline(dl)
	}
	fail := func(err error) error {
		_ = ws.close()
		return err
	}
	if _, p, err := ws.readMessage(); err != nil {
		return fail(fmt.Errorf("loadgen: open packet: %w", err))
	} else if len(p) == 0 || p[0] != '0' {
		return fail(fmt.Errorf("loadgen: expected an open packet, got %q", trunc(p)))
	}
	sentAt := time.Now()
	if err := ws.writeText(s.connectPacket()); err != nil {
		return fail(err)
	}
	ack, refused := []byte("40"+s.nsp()+","), []byte("44"+s.nsp()+",")
	for {
		_, p, err := ws.readMessage()
		if err != nil {
			return fail(fmt.Errorf("%w: %w", errAwaitingAck, err))
		}
		switch {
		case bytes.HasPrefix(p, ack):
			s.admit = time.Since(sentAt)
			s.rmu.Lock()
			err := s.handOver(ws)
			s.rmu.Unlock()
			if err != nil {
				return fail(err)
			}
			return nil
		case bytes.HasPrefix(p, refused):
			s.admit = time.Since(sentAt)
			return fail(fmt.Errorf("%w: %s", ErrRefused, p[len(refused):]))
		case len(p) == 1 && p[0] == '2':
			if err := ws.writeText("3"); err != nil {
				return fail(err)
			}
		}
	}
}

type action int

const (
	actNone action = iota
	actPong
	actClose
)

var personID = []byte(`"personId":`)

// handle reacts to one Engine.IO packet: a ping asks for a pong, an event is recorded.
func (s *Socket) handle(p []byte) action {
	if s.f.cfg.Protocol == Centrifugo {
		return s.handleCentrifugo(p)
	}
	if len(p) == 0 {
		return actNone
	}
	switch p[0] {
	case '2':
		return actPong
	case '1':
		return actClose
	case '4':
		if len(p) > 1 && p[1] == '2' {
			if seq, ok := parseSeq(p); ok {
				s.record(seq, s.f.now())
			}
		}
	}
	return actNone
}

// parseSeq finds the event's sequence number: the integer after "personId":.
func parseSeq(p []byte) (int, bool) {
	i := bytes.Index(p, personID)
	if i < 0 {
		return 0, false
	}
	n, digits := 0, 0
	for _, c := range p[i+len(personID):] {
		if c < '0' || c > '9' || digits > 9 {
			break
		}
		n = n*10 + int(c-'0')
		digits++
	}
	return n, digits > 0
}

func (s *Socket) record(seq int, now int64) {
	s.mu.Lock()
	w := &s.win
	i := seq - w.first
	switch {
	case i < 0 || i >= w.count:
		w.stray++
	case w.seen[i>>6]&(1<<(i&63)) != 0:
		w.dup++
	default:
		w.seen[i>>6] |= 1 << (i & 63)
		w.got++
		w.last = now
		if seq < len(s.f.sent) {
			if at := s.f.sent[seq].Load(); at > 0 && now >= at {
				w.lat = append(w.lat, uint32(min((now-at)/1000, 1<<32-1)))
			}
		}
		s.mu.Unlock()
		s.got.Add(1)
		return
	}
	s.mu.Unlock()
}

func (s *Socket) end(err error) {
	if s.dead.CompareAndSwap(false, true) {
		s.err.Store(&err)
	}
}

// close ends the socket from the generator's side: a websocket is shut down (its loop sees
// the end), a polling socket's requests end with the fleet's context.
func (s *Socket) close() {
	s.dead.Store(true)
	s.rmu.Lock()
	s.shutdownFD()
	s.rmu.Unlock()
}

func trunc(p []byte) []byte {
	if len(p) > 80 {
		return p[:80]
	}
	return p
}
