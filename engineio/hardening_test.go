package engineio

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/syncgate/syncgate/clientlimits"
)

// Attacks on the Engine.IO edge by a hostile client (issue 13). Each test measures what the
// attack costs the server, asserts a bound, and checks that a fresh client still gets through.

const mib = 1 << 20

// memPeak samples the heap (and the process RSS) while an attack runs.
type memPeak struct {
	baseHeap, baseRSS uint64
	peakHeap, peakRSS atomic.Uint64
	stop              chan struct{}
	done              chan struct{}
}

// startMemPeak records the baseline after a GC and samples every 5 ms until stop.
func startMemPeak() *memPeak {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := &memPeak{baseHeap: ms.HeapInuse, baseRSS: rss(), stop: make(chan struct{}), done: make(chan struct{})}
	m.peakHeap.Store(m.baseHeap)
	m.peakRSS.Store(m.baseRSS)
	go func() {
		defer close(m.done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			m.sample()
			select {
			case <-m.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

func (m *memPeak) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapInuse > m.peakHeap.Load() {
		m.peakHeap.Store(ms.HeapInuse)
	}
	if r := rss(); r > m.peakRSS.Load() {
		m.peakRSS.Store(r)
	}
}

// finish stops sampling and returns the peak growth of the heap and of the RSS.
func (m *memPeak) finish() (heap, rssGrowth int64) {
	close(m.stop)
	<-m.done
	m.sample()
	return int64(m.peakHeap.Load()) - int64(m.baseHeap), int64(m.peakRSS.Load()) - int64(m.baseRSS)
}

// rss returns the resident set size of the process (Linux), or 0.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// quietServer starts a server whose sessions are published on the returned channel without
// blocking (attacks open more sessions than startServer's harness expects).
func quietServer(t *testing.T, opts Options, wrap func(net.Listener) net.Listener) (*testServer, <-chan *recorder) {
	opened := make(chan *recorder, 4096)
	opts.OnOpen = func(c *Conn) Listener {
		r := &recorder{conn: c, msgs: make(chan inPacket, 16), closed: make(chan string, 1)}
		select {
		case opened <- r:
		default:
		}
		return r
	}
	return startServer(t, opts, wrap), opened
}

// assertHealthy opens a fresh websocket session and checks that a message gets through.
func assertHealthy(t *testing.T, ts *testServer, opened <-chan *recorder) {
	t.Helper()
	for len(opened) > 0 { // sessions of the attack
		<-opened
	}
	ws := ts.dialWS(&websocket.Dialer{HandshakeTimeout: waitLimit}, "EIO=4&transport=websocket", nil)
	if open := readText(t, ws); !strings.HasPrefix(open, "0{") {
		t.Fatalf("fresh client: open packet %q", open)
	}
	var r *recorder
	select {
	case r = <-opened:
	case <-time.After(waitLimit):
		t.Fatal("fresh client: no session opened")
	}
	sendText(t, ws, "4still alive")
	if m := awaitMessage(t, r); string(m.data) != "still alive" {
		t.Fatalf("fresh client: received %q", m.data)
	}
}

// TestPingFloodWithoutReadingIsBounded: a client that floods websocket ping frames and never
// reads makes the server owe one pong per ping; queued one per ping, they grew the server
// without bound (hundreds of MB in seconds) while the writer was blocked on the full socket.
func TestPingFloodWithoutReadingIsBounded(t *testing.T) {
	ts, opened := quietServer(t, Options{PingInterval: time.Hour}, func(l net.Listener) net.Listener { return smallBuffers{l} })
	dialer := &websocket.Dialer{ReadBufferSize: 1024, HandshakeTimeout: waitLimit}
	ws := ts.dialWS(dialer, "EIO=4&transport=websocket", nil)
	readText(t, ws) // the open packet; from here on the client reads nothing
	r := <-opened

	mem := startMemPeak()
	payload := []byte(strings.Repeat("p", 125)) // the largest ping: the largest pong owed
	start := time.Now()
	pings := 0
	var werr error
	for time.Since(start) < 2*time.Second {
		if werr = ws.WriteControl(websocket.PingMessage, payload, time.Now().Add(time.Second)); werr != nil {
			break
		}
		pings++
	}
	elapsed := time.Since(start)
	heap, rssGrowth := mem.finish()
	t.Logf("%d pings in %v, write error %v; peak growth: heap %.1f MB, RSS %.1f MB",
		pings, elapsed.Round(time.Millisecond), werr, float64(heap)/mib, float64(rssGrowth)/mib)

	if reason := awaitClose(t, r); reason != "slow consumer" {
		t.Errorf("close reason %q, want slow consumer", reason)
	}
	if heap > 64*mib {
		t.Errorf("heap grew %.1f MB during the flood, want < 64 MB", float64(heap)/mib)
	}
	if rssGrowth > 64*mib && !raceEnabled { // the heap bound above holds either way
		t.Errorf("RSS grew %.1f MB during the flood, want < 64 MB", float64(rssGrowth)/mib)
	}
	r.conn.mu.Lock()
	queued := len(r.conn.queue)
	r.conn.mu.Unlock()
	if queued > 2 { // at most the pong and nothing else (the session is closed)
		t.Errorf("%d packets still queued after the flood", queued)
	}
	if n := ts.eio.Count(); n != 0 {
		t.Errorf("Count() = %d after the drop, want 0", n)
	}
	assertHealthy(t, ts, opened)
}

// TestPongsOwedToABlockedClientAreCoalesced: below the flood rate, pings sent while the
// writer is stuck on a client that does not read leave one pong in the queue, not one per
// ping, and each still counts against MaxQueueBytes.
func TestPongsOwedToABlockedClientAreCoalesced(t *testing.T) {
	ts, opened := quietServer(t, Options{PingInterval: time.Hour}, func(l net.Listener) net.Listener { return smallBuffers{l} })
	dialer := &websocket.Dialer{
		ReadBufferSize:   1024,
		HandshakeTimeout: waitLimit,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(4096)
			}
			return c, err
		},
	}
	ws := ts.dialWS(dialer, "EIO=4&transport=websocket", nil)
	readText(t, ws)
	r := <-opened
	msg := NewMessage(make([]byte, 8<<10))
	blocked := func() bool { // the writer holds a batch it cannot write, and more is queued
		if err := r.conn.Send(msg); err != nil {
			t.Fatalf("Send: %v", err)
		}
		r.conn.mu.Lock()
		defer r.conn.mu.Unlock()
		return r.conn.writing && len(r.conn.queue) >= 3
	}
	eventually(t, "the writer blocks", blocked)
	r.conn.mu.Lock()
	before, n := r.conn.queued, len(r.conn.queue)
	r.conn.mu.Unlock()

	const pings = 50 // within the burst
	payload := []byte("0123456789")
	for i := 0; i < pings; i++ {
		if err := ws.WriteControl(websocket.PingMessage, payload, time.Now().Add(waitLimit)); err != nil {
			t.Fatalf("ping %d: %v", i, err)
		}
	}
	owed := pings * (2 + len(payload) + 10)
	eventually(t, "every ping counted", func() bool {
		r.conn.mu.Lock()
		defer r.conn.mu.Unlock()
		return r.conn.queued >= before+owed
	})
	r.conn.mu.Lock()
	queued, qlen := r.conn.queued, len(r.conn.queue)
	r.conn.mu.Unlock()
	if qlen != n+1 {
		t.Errorf("queue grew from %d to %d packets for %d pings, want one pong", n, qlen, pings)
	}
	if queued != before+owed {
		t.Errorf("queued %d bytes, want %d + %d for the pongs owed", queued, before, owed)
	}
}

// TestPingsAreAnsweredWhileReading: coalescing does not starve an honest client: each ping
// it waits for gets its pong, with its own payload.
func TestPingsAreAnsweredWhileReading(t *testing.T) {
	ts := startServer(t, Options{PingInterval: time.Hour}, nil)
	ws := ts.dialWS(nil, "EIO=4&transport=websocket", nil)
	readText(t, ws)
	ts.session()
	pongs := make(chan string, 1)
	ws.SetPongHandler(func(data string) error { pongs <- data; return nil })
	go func() { _, _, _ = ws.ReadMessage() }() // control frames are handled inside reads
	for i := 0; i < 20; i++ {
		want := fmt.Sprintf("ping %d", i)
		if err := ws.WriteControl(websocket.PingMessage, []byte(want), time.Now().Add(waitLimit)); err != nil {
			t.Fatalf("ping: %v", err)
		}
		select {
		case got := <-pongs:
			if got != want {
				t.Fatalf("pong %q, want %q", got, want)
			}
		case <-time.After(waitLimit):
			t.Fatalf("no pong for %q", want)
		}
	}
}

// TestHalfOpenHandshakesWithHugeHeadersAreBounded: a polling handshake costs the client one
// request and the session then waits a heartbeat budget for it; when each pending session
// kept a copy of all request headers (up to net/http's 1 MB), 250 of them pinned ~225 MB.
func TestHalfOpenHandshakesWithHugeHeadersAreBounded(t *testing.T) {
	ts, opened := quietServer(t, Options{PingInterval: time.Hour}, nil)
	const sessions = 250
	header := http.Header{}
	cookie := strings.Repeat("junk="+strings.Repeat("c", 4090)+"; ", 25) + "sid=secret" // ~100 KB
	header.Set("Cookie", cookie)
	header.Set("Authorization", "Bearer "+strings.Repeat("a", 50_000))
	header.Set("X-Request-Id", strings.Repeat("r", 20_000))
	for i := 0; i < 60; i++ {
		header.Set(fmt.Sprintf("X-Junk-%d", i), strings.Repeat("j", 12_000))
	}
	size := 0
	for k, vs := range header {
		for _, v := range vs {
			size += len(k) + len(v) + 4
		}
	}

	mem := startMemPeak()
	var wg sync.WaitGroup
	var failed atomic.Int32
	jobs := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				resp, body, err := ts.try(http.MethodGet, ts.url("EIO=4&transport=polling"), "", header)
				if err != nil || resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "0{") {
					failed.Add(1)
				}
			}
		}()
	}
	for i := 0; i < sessions; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	heap, rssGrowth := mem.finish()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	retained := int64(ms.HeapInuse) - int64(mem.baseHeap)
	t.Logf("%d handshakes with %d KB of headers each: peak growth heap %.1f MB, RSS %.1f MB; retained %.1f MB",
		sessions, size/1000, float64(heap)/mib, float64(rssGrowth)/mib, float64(retained)/mib)

	if n := failed.Load(); n > 0 {
		t.Fatalf("%d handshakes failed", n)
	}
	if n := ts.eio.Count(); n != sessions {
		t.Fatalf("Count() = %d, want %d half-open sessions", n, sessions)
	}
	if heap > 64*mib {
		t.Errorf("heap grew %.1f MB, want < 64 MB", float64(heap)/mib)
	}
	if rssGrowth > 64*mib && !raceEnabled { // the heap bound above holds either way
		t.Errorf("RSS grew %.1f MB, want < 64 MB", float64(rssGrowth)/mib)
	}
	if retained > 16*mib {
		t.Errorf("the pending sessions retain %.1f MB, want < 16 MB", float64(retained)/mib)
	}
	// What a session keeps: the credentials, capped; the cookie cut between cookies.
	r := <-opened
	hs := r.conn.Handshake()
	if len(hs.Header) != 1 || len(hs.Header.Get("Cookie")) > HandshakeHeaderBytes || !strings.HasPrefix(cookie, hs.Header.Get("Cookie")) ||
		!strings.HasSuffix(hs.Header.Get("Cookie"), strings.Repeat("c", 100)) {
		t.Errorf("kept headers %v (cookie %d bytes), want only a Cookie of whole cookies within %d bytes",
			keys(hs.Header), len(hs.Header.Get("Cookie")), HandshakeHeaderBytes)
	}
	assertHealthy(t, ts, opened)
}

func keys(h http.Header) []string {
	var out []string
	for k := range h {
		out = append(out, k)
	}
	return out
}

// TestHandshakeKeepsOnlyCredentialHeaders: what the layers above read (credentials, the
// request ID, the query, the client IP) survives the trimming.
func TestHandshakeKeepsOnlyCredentialHeaders(t *testing.T) {
	ts := startServer(t, Options{PingInterval: time.Hour, ClientIP: func(*http.Request) netip.Addr {
		return netip.MustParseAddr("203.0.113.9")
	}}, nil)
	long := strings.Repeat("x", 3000)
	query := "EIO=4&transport=polling&token=abc&pad1=" + long + "&pad2=" + long
	resp, body := ts.do(http.MethodGet, ts.url(query), "", http.Header{
		"Cookie":        {"a=1; sid=s3cret", "b=2"},
		"Authorization": {"Bearer tok"},
		"X-Request-Id":  {"req-1"},
		"User-Agent":    {"evil/1.0"},
		"X-Junk":        {long},
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("handshake %d %q", resp.StatusCode, body)
	}
	hs := ts.session().conn.Handshake()
	if got := strings.Join(hs.Header.Values("Cookie"), " | "); got != "a=1; sid=s3cret | b=2" {
		t.Errorf("Cookie %q", got)
	}
	if hs.Header.Get("Authorization") != "Bearer tok" || hs.Header.Get("X-Request-Id") != "req-1" {
		t.Errorf("credentials lost: %v", hs.Header)
	}
	if len(hs.Header) != 3 {
		t.Errorf("kept headers %v, want Cookie, Authorization, X-Request-Id", keys(hs.Header))
	}
	if hs.Query.Get("token") != "abc" || hs.Query.Get("pad1") != long || hs.Query.Has("pad2") {
		t.Errorf("query kept %v, want token and pad1 (the first %d bytes)", keys(http.Header(hs.Query)), HandshakeQueryBytes)
	}
	if hs.ClientIP != netip.MustParseAddr("203.0.113.9") {
		t.Errorf("ClientIP %v", hs.ClientIP)
	}

	// keepValues: an over-long token is dropped whole; a cookie list is cut between cookies.
	if got := keepValues("Authorization", []string{strings.Repeat("a", HandshakeHeaderBytes+1)}); got != nil {
		t.Errorf("over-long Authorization kept (%d values)", len(got))
	}
	c := strings.Repeat("k=vvvvvvv; ", HandshakeHeaderBytes/11+10)
	got := keepValues("Cookie", []string{c})
	if len(got) != 1 || len(got[0]) > HandshakeHeaderBytes || !strings.HasSuffix(got[0], "k=vvvvvvv") {
		t.Errorf("cut cookie %d bytes ending %q", len(got[0]), got[0][max(0, len(got[0])-12):])
	}
}

// TestDribbledPollingBodyEndsSession: a client that sends a POST's headers and then its body
// a byte at a time held the handler, the connection and the session's POST slot for as long
// as it liked (a 1 MB body at a byte per second: 11 days).
func TestDribbledPollingBodyEndsSession(t *testing.T) {
	const interval, timeout = 300 * time.Millisecond, 200 * time.Millisecond
	ts, opened := quietServer(t, Options{PingInterval: interval, PingTimeout: timeout}, nil)
	resp, body := ts.do(http.MethodGet, ts.url("EIO=4&transport=polling"), "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("handshake %d", resp.StatusCode)
	}
	sid := sidOf(t, body)
	r := <-opened

	nc, err := net.Dial("tcp", ts.http.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	start := time.Now()
	fmt.Fprintf(nc, "POST /engine.io/?%s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n", pollQuery(sid))
	stop := make(chan struct{})
	var dribbled atomic.Int32
	go func() { // a byte every 20 ms: the body would take 2,000 s
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := nc.Write([]byte("x")); err != nil {
					return
				}
				dribbled.Add(1)
			}
		}
	}()
	defer close(stop)

	_ = nc.SetReadDeadline(time.Now().Add(waitLimit))
	answer, err := http.ReadResponse(bufio.NewReader(nc), nil)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server still reads the dribbled body after %v (%d bytes)", time.Since(start), dribbled.Load())
	}
	elapsed := time.Since(start)
	status := 0
	if err == nil {
		status = answer.StatusCode
	}
	t.Logf("server ended the dribbled POST after %v (%d bytes): status %d, err %v", elapsed.Round(time.Millisecond), dribbled.Load(), status, err)
	if budget := interval + timeout; elapsed > budget+time.Second {
		t.Errorf("POST ended after %v, want about the heartbeat budget %v", elapsed, budget)
	}
	if err == nil && status != http.StatusBadRequest {
		t.Errorf("status %d, want 400", status)
	}
	if reason := awaitClose(t, r); reason != "transport error" && reason != "ping timeout" {
		t.Errorf("close reason %q", reason)
	}
	assertHealthy(t, ts, opened)
}

// TestPerIPCapRefusesBothTransports: with a cap of 2, a client IP that holds two sessions
// gets 429 with a JSON body on a third handshake of either transport, and no session is
// created; closing one frees a slot.
func TestPerIPCapRefusesBothTransports(t *testing.T) {
	conns := clientlimits.NewConns(clientlimits.ConnsConfig{Max: 2, ProxiesTrusted: true})
	ts, opened := quietServer(t, Options{PingInterval: time.Hour, AcquireSlot: conns.Acquire}, nil)
	lo := netip.MustParseAddr("127.0.0.1")

	_, body := ts.do(http.MethodGet, ts.url("EIO=4&transport=polling"), "", nil)
	sid := sidOf(t, body)
	first := <-opened
	ws := ts.dialWS(nil, "EIO=4&transport=websocket", nil)
	readText(t, ws)
	second := <-opened
	if n := conns.Count(lo); n != 2 {
		t.Fatalf("count %d, want 2", n)
	}

	resp, body := ts.do(http.MethodGet, ts.url("EIO=4&transport=polling"), "", nil)
	var e struct {
		Code    int
		Message string
	}
	if resp.StatusCode != http.StatusTooManyRequests || json.Unmarshal([]byte(body), &e) != nil || e.Message != "Too many connections" {
		t.Errorf("polling handshake over the cap: %d %q, want 429 with a JSON body", resp.StatusCode, body)
	}
	_, wresp, err := websocket.DefaultDialer.Dial(ts.wsURL("EIO=4&transport=websocket"), nil)
	if err == nil || wresp == nil || wresp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("websocket handshake over the cap: err %v, response %v, want 429", err, wresp)
	}
	if n := ts.eio.Count(); n != 2 {
		t.Errorf("Count() = %d after refusals, want 2 (no session for a refused handshake)", n)
	}
	if len(opened) != 0 {
		t.Errorf("OnOpen called for a refused handshake")
	}
	// Requests of an open session (polls, the upgrade) take no new slot.
	if resp, _ := ts.do(http.MethodPost, ts.url(pollQuery(sid)), "4hi", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("POST of an open session: %d", resp.StatusCode)
	}
	awaitMessage(t, first)

	first.conn.Close()
	awaitClose(t, first)
	if n := conns.Count(lo); n != 1 {
		t.Errorf("count %d after a close, want 1", n)
	}
	ws2 := ts.dialWS(nil, "EIO=4&transport=websocket", nil)
	readText(t, ws2)
	<-opened
	_ = ws.Close()
	awaitClose(t, second)
	eventually(t, "one slot held", func() bool { return conns.Count(lo) == 1 })
}

// TestPerIPSlotsReleasedOnEveryClosePath: 1,000 sessions opened and closed every way a
// session ends leave no slot held: a slot leaked per close would lock a client out for good.
func TestPerIPSlotsReleasedOnEveryClosePath(t *testing.T) {
	conns := clientlimits.NewConns(clientlimits.ConnsConfig{Max: 1_000_000, ProxiesTrusted: true})
	ts, opened := quietServer(t, Options{PingInterval: time.Hour, AcquireSlot: conns.Acquire}, nil)
	dialer := &websocket.Dialer{HandshakeTimeout: waitLimit}
	polling := func() (string, *recorder, error) {
		resp, body, err := ts.try(http.MethodGet, ts.url("EIO=4&transport=polling"), "", nil)
		if err != nil {
			return "", nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return "", nil, fmt.Errorf("handshake %d", resp.StatusCode)
		}
		sid, err := parseSID(body)
		return sid, nil, err
	}
	kinds := []func() error{
		func() error { // websocket, Close frame from the client
			ws, _, err := dialer.Dial(ts.wsURL("EIO=4&transport=websocket"), nil)
			if err != nil {
				return err
			}
			defer ws.Close()
			return closeWS(ws, true)
		},
		func() error { // websocket, TCP connection dropped
			ws, _, err := dialer.Dial(ts.wsURL("EIO=4&transport=websocket"), nil)
			if err != nil {
				return err
			}
			return closeWS(ws, false)
		},
		func() error { // polling, close packet
			sid, _, err := polling()
			if err != nil {
				return err
			}
			resp, _, err := ts.try(http.MethodPost, ts.url(pollQuery(sid)), "1", nil)
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("close POST %d", resp.StatusCode)
			}
			return err
		},
		func() error { // polling, protocol error (a malformed payload)
			sid, _, err := polling()
			if err != nil {
				return err
			}
			_, _, err = ts.try(http.MethodPost, ts.url(pollQuery(sid)), "\x1e\x1e", nil)
			return err
		},
		func() error { // polling upgraded to websocket, then dropped
			sid, _, err := polling()
			if err != nil {
				return err
			}
			ws, _, err := dialer.Dial(ts.wsURL("EIO=4&transport=websocket&sid="+sid), nil)
			if err != nil {
				return err
			}
			_ = ws.SetReadDeadline(time.Now().Add(waitLimit))
			if err := ws.WriteMessage(websocket.TextMessage, []byte("2probe")); err != nil {
				return err
			}
			if _, _, err := ws.ReadMessage(); err != nil {
				return err
			}
			if err := ws.WriteMessage(websocket.TextMessage, []byte("5")); err != nil {
				return err
			}
			return closeWS(ws, false)
		},
		func() error { // polling, upgrade aborted by a bad probe, then closed by the server
			sid, _, err := polling()
			if err != nil {
				return err
			}
			ws, _, err := dialer.Dial(ts.wsURL("EIO=4&transport=websocket&sid="+sid), nil)
			if err != nil {
				return err
			}
			_ = ws.WriteMessage(websocket.TextMessage, []byte("nonsense"))
			_ = closeWS(ws, false)
			if c := ts.eio.get(sid); c != nil {
				c.Close()
			}
			return nil
		},
	}
	const cycles = 1000
	var wg sync.WaitGroup
	errs := make(chan error, cycles)
	jobs := make(chan int)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := kinds[i%len(kinds)](); err != nil {
					errs <- fmt.Errorf("cycle %d: %w", i, err)
				}
			}
		}()
	}
	for i := 0; i < cycles; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	eventually(t, "every session closed", func() bool { return ts.eio.Count() == 0 })
	eventually(t, "every slot released", func() bool { s, _ := conns.Total(); return s == 0 })
	if s, ips := conns.Total(); s != 0 || ips != 0 {
		t.Errorf("after %d cycles: %d slots held by %d IPs, want 0", cycles, s, ips)
	}
	// The last path: the server shuts down with sessions open.
	for i := 0; i < 10; i++ {
		if _, _, err := polling(); err != nil {
			t.Fatal(err)
		}
	}
	if s, _ := conns.Total(); s != 10 {
		t.Fatalf("%d slots held by 10 open sessions", s)
	}
	ts.eio.Close()
	if s, _ := conns.Total(); s != 0 {
		t.Errorf("%d slots held after Close, want 0", s)
	}
	_ = opened
}
