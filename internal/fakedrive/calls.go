package fakedrive

import (
	"sync"
	"time"
)

// Endpoints as counted and as named in Fail.
const (
	FilesGet       = "files.get"
	FilesList      = "files.list"
	StartPageToken = "changes.getStartPageToken"
	ChangesList    = "changes.list"
)

// maxLog bounds the kept call log; counters go on counting past it.
const maxLog = 1 << 20

// Call is one request the fake answered.
type Call struct {
	Time      time.Time // when the request arrived
	Done      time.Time // when its answer was written
	User      string    // "" when the token was unknown
	Endpoint  string    // one of the endpoint constants, or the path when unknown
	Status    int
	Fields    string // the fields parameter, "" when absent
	PageToken string // changes.list only
}

// callLog records calls and wakes waiters on each one.
type callLog struct {
	mu      sync.Mutex
	entries []Call
	counts  map[[2]string]int // {endpoint, user} → calls
	total   int
	notify  chan struct{} // closed and replaced on every call

	inFlight, maxInFlight int
}

// enter and leave count the requests being answered.
func (l *callLog) enter() {
	l.mu.Lock()
	l.inFlight++
	l.maxInFlight = max(l.maxInFlight, l.inFlight)
	l.mu.Unlock()
}

func (l *callLog) leave() {
	l.mu.Lock()
	l.inFlight--
	l.mu.Unlock()
}

// MaxInFlight returns the most requests the fake answered at once.
func (s *Server) MaxInFlight() int {
	s.calls.mu.Lock()
	defer s.calls.mu.Unlock()
	return s.calls.maxInFlight
}

func (l *callLog) init() {
	l.counts = make(map[[2]string]int)
	l.notify = make(chan struct{})
}

func (l *callLog) add(c Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.entries) < maxLog {
		l.entries = append(l.entries, c)
	}
	l.counts[[2]string{c.Endpoint, c.User}]++
	l.total++
	close(l.notify)
	l.notify = make(chan struct{})
}

// Calls returns a copy of the call log, oldest first.
func (s *Server) Calls() []Call {
	s.calls.mu.Lock()
	defer s.calls.mu.Unlock()
	return append([]Call(nil), s.calls.entries...)
}

// Count returns how many calls user made to endpoint; "" matches any.
func (s *Server) Count(endpoint, user string) int {
	s.calls.mu.Lock()
	defer s.calls.mu.Unlock()
	n := 0
	for k, c := range s.calls.counts {
		if (endpoint == "" || k[0] == endpoint) && (user == "" || k[1] == user) {
			n += c
		}
	}
	return n
}

// Next returns a channel closed when the fake answers its next call: wait
// on it between checks of Count or Calls instead of sleeping.
func (s *Server) Next() <-chan struct{} {
	s.calls.mu.Lock()
	defer s.calls.mu.Unlock()
	return s.calls.notify
}

// ResetCalls forgets the call log and the counters.
func (s *Server) ResetCalls() {
	s.calls.mu.Lock()
	defer s.calls.mu.Unlock()
	s.calls.entries = nil
	s.calls.total = 0
	s.calls.maxInFlight = s.calls.inFlight
	clear(s.calls.counts)
}
