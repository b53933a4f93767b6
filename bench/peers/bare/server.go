package main

import (
	"encoding/binary"
	"encoding/json"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// server holds the orgs' socket sets and the shared ping ticker.
type server struct {
	upgrader     websocket.Upgrader
	pingInterval time.Duration
	nextID       atomic.Int64

	mu   sync.RWMutex
	orgs map[string]map[*conn]struct{} // namespace "/org/N" → sockets
	all  map[*conn]struct{}

	stop chan struct{}
}

func newServer(pingInterval time.Duration) *server {
	s := &server{
		upgrader: websocket.Upgrader{
			ReadBufferSize: 1024, WriteBufferSize: 1024, WriteBufferPool: &sync.Pool{},
			CheckOrigin: func(*http.Request) bool { return true },
		},
		pingInterval: pingInterval,
		orgs:         map[string]map[*conn]struct{}{},
		all:          map[*conn]struct{}{},
		stop:         make(chan struct{}),
	}
	go s.pinger()
	return s
}

func (s *server) close() { close(s.stop) }

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("GET /bench/stats", s.stats)
	mux.HandleFunc("/socket.io/", s.serveWS)
	mux.HandleFunc("PUT /api/orgs/{org}/people/views/{view}/rows/{person}", s.emit)
	return mux
}

// stats reports the Go heap after a collection, for the idle-memory scenario.
func (s *server) stats(w http.ResponseWriter, _ *http.Request) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]uint64{
		"heapInuse": ms.HeapInuse, "heapAlloc": ms.HeapAlloc, "stackInuse": ms.StackInuse,
		"goroutines": uint64(runtime.NumGoroutine()),
	})
}

// emit is the proxy-like endpoint: it broadcasts personview.addrow to the org at once.
func (s *server) emit(w http.ResponseWriter, r *http.Request) {
	org, view, person := r.PathValue("org"), r.PathValue("view"), r.PathValue("person")
	if !digits(org) || !digits(view) || !digits(person) {
		http.Error(w, `{"error":"Not Found"}`, http.StatusNotFound)
		return
	}
	nsp := "/org/" + org
	f := textFrame([]byte("42" + nsp + `,["personview.addrow",{"viewId":` + view + `,"personId":` + person + `}]`))
	s.mu.RLock()
	for c := range s.orgs[nsp] {
		c.send(f)
	}
	s.mu.RUnlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"data":{}}`))
}

func (s *server) pinger() {
	t := time.NewTicker(s.pingInterval)
	defer t.Stop()
	ping := textFrame([]byte("2"))
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.RLock()
			for c := range s.all {
				c.send(ping)
			}
			s.mu.RUnlock()
		}
	}
}

func (s *server) serveWS(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("transport") != "websocket" {
		http.Error(w, `{"code":0,"message":"Transport unknown"}`, http.StatusBadRequest)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := newConn(ws)
	sid := strconv.FormatInt(s.nextID.Add(1), 10)
	c.send(textFrame([]byte(`0{"sid":"` + sid + `","upgrades":[],"pingInterval":` +
		strconv.FormatInt(s.pingInterval.Milliseconds(), 10) + `,"pingTimeout":20000,"maxPayload":1000000}`)))
	s.mu.Lock()
	s.all[c] = struct{}{}
	s.mu.Unlock()
	// Read on a goroutine of its own and return: the handler's goroutine would otherwise keep
	// net/http's per-connection buffers (about 8 KiB) alive for the socket's whole life.
	go s.readLoop(c, ws, sid)
}

// readLoop handles what the client sends: a CONNECT "40/org/N,{...}" joins the org; pongs
// and everything else are ignored.
func (s *server) readLoop(c *conn, ws *websocket.Conn, sid string) {
	var joined []string
	defer func() {
		s.mu.Lock()
		delete(s.all, c)
		for _, nsp := range joined {
			delete(s.orgs[nsp], c)
		}
		s.mu.Unlock()
		c.shutdown()
	}()
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return
		}
		rest, ok := strings.CutPrefix(string(msg), "40/org/")
		if !ok {
			continue
		}
		org, _, _ := strings.Cut(rest, ",")
		if !digits(org) {
			continue
		}
		nsp := "/org/" + org
		s.mu.Lock()
		set := s.orgs[nsp]
		if set == nil {
			set = map[*conn]struct{}{}
			s.orgs[nsp] = set
		}
		set[c] = struct{}{}
		s.mu.Unlock()
		joined = append(joined, nsp)
		c.send(textFrame([]byte("40" + nsp + `,{"sid":"` + sid + `"}`)))
	}
}

// textFrame frames payload once as an unmasked server text frame (RFC 6455 §5.2).
func textFrame(payload []byte) []byte {
	n := len(payload)
	var f []byte
	switch {
	case n < 126:
		f = append(make([]byte, 0, 2+n), 0x81, byte(n))
	case n <= 0xffff:
		f = binary.BigEndian.AppendUint16(append(make([]byte, 0, 4+n), 0x81, 126), uint16(n))
	default:
		f = binary.BigEndian.AppendUint64(append(make([]byte, 0, 10+n), 0x81, 127), uint64(n))
	}
	return append(f, payload...)
}

func digits(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
