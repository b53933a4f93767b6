package namespaces

import (
	"context"
	"sync"
	"time"
)

// MemoryAdapter is the single-node adapter, the default: Publish is local delivery, and the
// recent broadcasts of each namespace are kept in memory for connection state recovery.
// Running several nodes needs an engine of package fanout.
//
// Each namespace has its own log and lock: a broadcast is delivered under its namespace's
// lock only (so its sockets see offsets in order), and broadcasts to different namespaces
// are delivered in parallel.
type MemoryAdapter struct {
	window time.Duration
	max    int
	start  offset // offsets before this one were issued by another process

	hooks AdapterHooks

	logsMu sync.RWMutex
	logs   map[string]*memLog

	sessMu   sync.Mutex
	sessions map[string]memSession
}

type memLog struct {
	mu      sync.Mutex
	last    offset       // the offset issued last in this namespace
	entries []*Broadcast // oldest first
	trimmed offset       // the newest offset dropped from entries
}

type memSession struct {
	state   SessionState
	expires time.Time
}

// NewMemoryAdapter returns the in-memory adapter. window is how long broadcasts and
// sessions are kept for recovery (0 disables both); perNsp bounds the broadcasts kept per
// namespace (default 1,000).
func NewMemoryAdapter(window time.Duration, perNsp int) *MemoryAdapter {
	if perNsp <= 0 {
		perNsp = 1000
	}
	now := uint64(time.Now().UnixMilli())
	return &MemoryAdapter{
		window:   window,
		max:      perNsp,
		start:    offset{now, 0},
		logs:     make(map[string]*memLog),
		sessions: make(map[string]memSession),
	}
}

// Init implements Adapter.
func (m *MemoryAdapter) Init(h AdapterHooks) { m.hooks = h }

// Publish implements Adapter.
func (m *MemoryAdapter) Publish(b *Broadcast) error {
	if m.window <= 0 {
		m.hooks.DeliverLocal(b)
		return nil
	}
	l := m.log(b.Nsp, true)
	l.mu.Lock()
	defer l.mu.Unlock() // delivered under the namespace's lock: its sockets see offsets in order
	b.Offset = l.next().String()
	l.entries = append(l.entries, b)
	m.trimLocked(l, time.Now())
	m.hooks.DeliverLocal(b)
	return nil
}

// log returns the log of nsp, creating it when create is set (else nil if there is none).
func (m *MemoryAdapter) log(nsp string, create bool) *memLog {
	m.logsMu.RLock()
	l := m.logs[nsp]
	m.logsMu.RUnlock()
	if l != nil || !create {
		return l
	}
	m.logsMu.Lock()
	defer m.logsMu.Unlock()
	if l = m.logs[nsp]; l == nil {
		l = &memLog{}
		m.logs[nsp] = l
	}
	return l
}

// next issues the namespace's next offset: milliseconds and a sequence within the
// millisecond. Offsets are compared only within a namespace. l.mu is held.
func (l *memLog) next() offset {
	ms := uint64(time.Now().UnixMilli())
	if ms <= l.last.ms {
		l.last.seq++
	} else {
		l.last = offset{ms, 0}
	}
	return l.last
}

// trimLocked drops what is older than the window or beyond the length bound. l.mu is held.
func (m *MemoryAdapter) trimLocked(l *memLog, now time.Time) {
	cut := 0
	oldest := uint64(now.Add(-m.window).UnixMilli())
	for cut < len(l.entries) && (len(l.entries)-cut > m.max || m.offsetOf(l.entries[cut]).ms < oldest) {
		cut++
	}
	if cut > 0 {
		l.trimmed = m.offsetOf(l.entries[cut-1])
		clear(l.entries[:cut])
		l.entries = append(l.entries[:0], l.entries[cut:]...)
	}
}

func (m *MemoryAdapter) offsetOf(b *Broadcast) offset {
	o, _ := parseOffset(b.Offset)
	return o
}

// Missed implements Adapter.
func (m *MemoryAdapter) Missed(_ context.Context, nsp, off string) ([]*Broadcast, bool, error) {
	o, err := parseOffset(off)
	if err != nil || m.window <= 0 || o.less(m.start) {
		return nil, false, nil
	}
	now := time.Now()
	if o.ms < uint64(now.Add(-m.window).UnixMilli()) {
		return nil, false, nil
	}
	l := m.log(nsp, false)
	if l == nil {
		return nil, true, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	m.trimLocked(l, now)
	if o.less(l.trimmed) {
		return nil, false, nil
	}
	var out []*Broadcast
	for _, b := range l.entries {
		if o.less(m.offsetOf(b)) {
			out = append(out, b)
		}
	}
	return out, true, nil
}

// SaveSession implements Adapter.
func (m *MemoryAdapter) SaveSession(_ context.Context, s SessionState) error {
	if m.window <= 0 {
		return nil
	}
	m.sessMu.Lock()
	defer m.sessMu.Unlock()
	now := time.Now()
	if len(m.sessions) > 1000 && len(m.sessions)%1000 == 0 {
		for k, v := range m.sessions {
			if now.After(v.expires) {
				delete(m.sessions, k)
			}
		}
	}
	m.sessions[s.PID] = memSession{s, now.Add(m.window)}
	return nil
}

// TakeSession implements Adapter.
func (m *MemoryAdapter) TakeSession(_ context.Context, pid string) (*SessionState, error) {
	m.sessMu.Lock()
	defer m.sessMu.Unlock()
	s, ok := m.sessions[pid]
	delete(m.sessions, pid)
	if !ok || time.Now().After(s.expires) {
		return nil, nil
	}
	return &s.state, nil
}

// Ready implements Adapter: a single node is always whole.
func (m *MemoryAdapter) Ready() bool { return true }

// Close implements Adapter.
func (m *MemoryAdapter) Close() error { return nil }
