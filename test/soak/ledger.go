package soak

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// The per-socket ledger. Times are Unix milliseconds of this machine's clock (the Node
// driver and the Go side read the same clock).

// Mutation is one API call of the soak (or one client event a socket sent).
type Mutation struct {
	ID     int64
	Client bool   // a client event (user.typing), not an API mutation
	Sender string // the sending logical socket of a client event
	Org    int
	View   int
	Room   bool // a room event (view:{View}); else org-wide
	Node   int  // the node it went through (-1 for client events)
	Sent   int64
	Resp   int64 // 2xx (or ok ack) arrival; 0 when it failed
	Status int
	Err    string
}

// OK reports whether the mutation succeeded: only those are expected anywhere.
func (m *Mutation) OK() bool { return m.Resp > 0 }

type connRec struct {
	T         int64
	Node      int
	Recovered bool
	SID       string
}

type stamped struct {
	T    int64
	What string // node index, disconnect reason, resync reason, error message
}

type recvRec struct {
	T    int64
	ID   int64
	View int
	Name string
}

// socketLog is everything one logical socket did, as its driver reported it.
type socketLog struct {
	ID        string
	Org       int
	View      int // the room view:{View} it keeps subscribed, 0 for none
	Transport string
	Created   int64
	Closed    int64 // deliberately closed by the soak; 0 if open at the end
	Final     bool  // reported by the final roll call
	Connected bool  // connected at the final roll call
	Attempts  []stamped
	Conns     []connRec
	Discs     []stamped
	Resyncs   []stamped
	CErrs     []stamped
	Subs      []int64 // acks {ok:true} of its room subscription
	SubFails  int
	Recv      []recvRec
}

// startedOverBetween reports whether the socket was told to start over — a resync, or a
// connection that did not recover — after a and at or before b.
func (s *socketLog) startedOverBetween(a, b int64) bool {
	for _, r := range s.Resyncs {
		if r.T > a && r.T <= b {
			return true
		}
	}
	for i, c := range s.Conns {
		if i > 0 && !c.Recovered && c.T > a && c.T <= b {
			return true
		}
	}
	return false
}

func (s *socketLog) firstConn() int64 {
	if len(s.Conns) == 0 {
		return 0
	}
	return s.Conns[0].T
}

// inRoom reports whether the socket was in its room at t: a subscription was acked at or
// before t and no fresh (non-recovered) connection replaced the server side since.
func (s *socketLog) inRoom(view int, t int64) bool {
	if s.View == 0 || s.View != view {
		return false
	}
	last := int64(0)
	for _, a := range s.Subs {
		if a <= t && a > last {
			last = a
		}
	}
	if last == 0 {
		return false
	}
	for _, c := range s.Conns {
		if !c.Recovered && c.T > last && c.T <= t {
			return false
		}
	}
	return true
}

// coveredAt returns the time of the first resync or fresh reconnect at or after t, or 0.
func (s *socketLog) coveredAt(t int64) (int64, string) {
	best, why := int64(0), ""
	for _, r := range s.Resyncs {
		if r.T >= t && (best == 0 || r.T < best) {
			best, why = r.T, "resync "+r.What
		}
	}
	for i, c := range s.Conns {
		if i > 0 && !c.Recovered && c.T >= t && (best == 0 || c.T < best) {
			best, why = c.T, "reconnect with recovered=false"
		}
	}
	return best, why
}

// Ledger collects the driver reports and the mutations, then judges them.
type Ledger struct {
	mu        sync.Mutex
	sockets   map[string]*socketLog
	order     []string
	mutations map[int64]*Mutation // API mutations and client events, by ID
	badLines  int
	journal   *lockedWriter // optional: mutations are journaled as ["mut", {...}]
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{sockets: map[string]*socketLog{}, mutations: map[int64]*Mutation{}}
}

// AddMutation records an API mutation (any outcome).
func (l *Ledger) AddMutation(m Mutation) {
	if l.journal != nil {
		b, _ := json.Marshal([]any{"mut", m})
		l.journal.line(b)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mutations[m.ID] = &m
}

// Line records one line of a driver (see test/soak/node/driver.js); it returns false for
// a line it cannot read.
func (l *Ledger) Line(b []byte) bool {
	var a []json.RawMessage
	if json.Unmarshal(b, &a) != nil || len(a) == 0 {
		l.mu.Lock()
		l.badLines++
		l.mu.Unlock()
		return false
	}
	var kind, id string
	_ = json.Unmarshal(a[0], &kind)
	if len(a) > 1 {
		_ = json.Unmarshal(a[1], &id)
	}
	i64 := func(k int) int64 {
		var v float64
		if k < len(a) {
			_ = json.Unmarshal(a[k], &v)
		}
		return int64(v)
	}
	str := func(k int) string {
		var v string
		if k < len(a) {
			_ = json.Unmarshal(a[k], &v)
		}
		return v
	}
	boolean := func(k int) bool {
		var v bool
		if k < len(a) {
			_ = json.Unmarshal(a[k], &v)
		}
		return v
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if kind == "done" {
		return true
	}
	s := l.sockets[id]
	if kind == "new" {
		s = &socketLog{ID: id, Org: int(i64(2)), View: int(i64(3)), Transport: str(4), Created: i64(5)}
		l.sockets[id] = s
		l.order = append(l.order, id)
		return true
	}
	if s == nil {
		l.badLines++
		return false
	}
	switch kind {
	case "attempt":
		s.Attempts = append(s.Attempts, stamped{i64(2), fmt.Sprint(i64(3))})
	case "conn":
		s.Conns = append(s.Conns, connRec{T: i64(2), Node: int(i64(3)), Recovered: boolean(4), SID: str(5)})
	case "disc":
		s.Discs = append(s.Discs, stamped{i64(2), str(3)})
	case "cerr":
		s.CErrs = append(s.CErrs, stamped{i64(2), str(3)})
	case "sub":
		if boolean(4) {
			s.Subs = append(s.Subs, i64(2))
		} else {
			s.SubFails++
		}
	case "resync":
		s.Resyncs = append(s.Resyncs, stamped{i64(2), str(3)})
	case "ev":
		s.Recv = append(s.Recv, recvRec{T: i64(2), Name: intern(str(3)), ID: i64(4), View: int(i64(5))})
	case "close":
		s.Closed = i64(2)
	case "ce":
		m := &Mutation{ID: i64(4), Client: true, Sender: id, Org: s.Org, View: 1, Node: -1, Sent: i64(2)}
		if boolean(5) {
			m.Resp = i64(3)
			m.Status = 200
		} else {
			m.Err = "no ok ack"
		}
		l.mutations[m.ID] = m
	case "final":
		s.Final, s.Connected = true, boolean(2)
	default:
		l.badLines++
		return false
	}
	return true
}

// intern shares the string of the soak's event names (millions of receipts in long runs).
func intern(name string) string {
	for _, n := range [...]string{"personview.addrow", "view.row.updated", "user.typing"} {
		if name == n {
			return n
		}
	}
	return name
}

// Phase is a span of the run that begins with a fault (or the start).
type Phase struct {
	Name  string
	Start int64
}

// Tally counts one phase's (or the total's) classification.
type Tally struct {
	Mutations, OK                          int
	Expected, Delivered, Covered, Lost     int
	Duplicates, WrongOrg, WrongRoom, Extra int
	// Redundant are second receipts with a resync (or a fresh, unrecovered connection) in
	// between: the client had been told to refetch everything, so the copy is one more
	// invalidation of fresh data, not a broken at-most-once promise. Reported, not failed.
	Redundant int
}

func (t *Tally) add(o Tally) {
	t.Mutations += o.Mutations
	t.OK += o.OK
	t.Expected += o.Expected
	t.Delivered += o.Delivered
	t.Covered += o.Covered
	t.Lost += o.Lost
	t.Duplicates += o.Duplicates
	t.WrongOrg += o.WrongOrg
	t.WrongRoom += o.WrongRoom
	t.Extra += o.Extra
	t.Redundant += o.Redundant
}

// LostEvent is one expected event that was neither delivered nor covered.
type LostEvent struct {
	M      *Mutation
	Socket *socketLog
	Name   string // duplicates: the event's name and id
	ID     int64
	Note   string // lost: a cover that came too late, if any
}

// Verdict is the ledger's judgement.
type Verdict struct {
	Phases      []Phase
	Trigger     []Tally // per phase, trigger (API) events
	Client      []Tally // per phase, client events
	Total       Tally   // both kinds, all phases
	Lost        []LostEvent
	Dups        []LostEvent // duplicate receipts (M is nil for an id the soak never produced)
	Stuck       []string    // sockets not connected at the end (not deliberately closed)
	NoFinal     int         // sockets the final roll call did not report
	Sockets     int
	Reconnects  int
	Recovered   int
	Resyncs     map[string]int
	ConnErrors  map[string]int
	SubFails    int
	BadLines    int
	CoverMax    int64    // the longest delay, ms, between a covered event's mutation and its cover
	Unexplained []string // wrong-org, wrong-room and duplicate receipts, described
}

// Failed reports whether the guarantee was broken.
func (v *Verdict) Failed() bool {
	return v.Total.Lost > 0 || v.Total.Duplicates > 0 || v.Total.WrongOrg > 0 || v.Total.WrongRoom > 0 ||
		len(v.Stuck) > 0 || v.NoFinal > 0 || v.SubFails > 0
}

// Judge classifies every expected event. closeMargin: a socket the soak closed is expected
// to have received only mutations answered at least that long before it was closed.
// coverWindow: a resync or fresh reconnect covers a missing event only if it comes at most
// that long after the mutation was sent ("as soon as the gap is known"); a later one would
// mask a silent gap (and any loss before a fault), so the event is then LOST, with a note.
func (l *Ledger) Judge(phases []Phase, closeMargin, coverWindow int64) *Verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := &Verdict{Phases: phases, Trigger: make([]Tally, len(phases)), Client: make([]Tally, len(phases)),
		Resyncs: map[string]int{}, ConnErrors: map[string]int{}, BadLines: l.badLines}
	phaseOf := func(t int64) int {
		p := 0
		for i, ph := range phases {
			if t >= ph.Start {
				p = i
			}
		}
		return p
	}
	tally := func(m *Mutation) *Tally {
		if m.Client {
			return &v.Client[phaseOf(m.Sent)]
		}
		return &v.Trigger[phaseOf(m.Sent)]
	}
	byOrg := map[int][]*socketLog{}
	// received[socket][key] = count, key = name + id
	type key struct {
		client bool
		id     int64
	}
	received := map[*socketLog]map[key]int{}
	for _, id := range l.order {
		s := l.sockets[id]
		v.Sockets++
		byOrg[s.Org] = append(byOrg[s.Org], s)
		if len(s.Conns) > 1 {
			v.Reconnects += len(s.Conns) - 1
			for _, c := range s.Conns[1:] {
				if c.Recovered {
					v.Recovered++
				}
			}
		}
		for _, r := range s.Resyncs {
			v.Resyncs[r.What]++
		}
		for _, e := range s.CErrs {
			v.ConnErrors[e.What]++
		}
		v.SubFails += s.SubFails
		if s.Closed == 0 && !s.Final {
			v.NoFinal++
		}
		if s.Closed == 0 && s.Final && !s.Connected {
			v.Stuck = append(v.Stuck, s.ID)
		}
		got := map[key]int{}
		lastAt := map[key]int64{}
		for _, r := range s.Recv {
			k := key{r.Name == "user.typing", r.ID}
			got[k]++
			prev := lastAt[k]
			lastAt[k] = r.T
			m := l.mutations[r.ID]
			if m != nil && m.Client != k.client {
				m = nil
			}
			switch {
			case got[k] >= 2 && s.startedOverBetween(prev, r.T):
				if m != nil {
					tally(m).Redundant++
				} else {
					v.Total.Redundant++
				}
			case got[k] == 2:
				if m != nil {
					tally(m).Duplicates++
				} else {
					v.Total.Duplicates++
				}
				v.Unexplained = append(v.Unexplained, fmt.Sprintf("DUPLICATE %s id=%d at socket %s (org %d)", r.Name, r.ID, s.ID, s.Org))
				v.Dups = append(v.Dups, LostEvent{M: m, Socket: s, Name: r.Name, ID: r.ID})
			case got[k] > 2:
			case m == nil:
				// A client event whose ack never arrived is still recorded by its sender; an
				// id the soak never produced is a wrong-org receipt.
				v.Total.WrongOrg++
				v.Unexplained = append(v.Unexplained, fmt.Sprintf("UNKNOWN %s id=%d at socket %s (org %d)", r.Name, r.ID, s.ID, s.Org))
			case m.Org != s.Org:
				tally(m).WrongOrg++
				v.Unexplained = append(v.Unexplained, fmt.Sprintf("WRONG-ORG %s id=%d of org %d at socket %s (org %d)", r.Name, r.ID, m.Org, s.ID, s.Org))
			case m.Room && (s.View == 0 || r.View != s.View || m.View != s.View):
				tally(m).WrongRoom++
				v.Unexplained = append(v.Unexplained, fmt.Sprintf("WRONG-ROOM %s id=%d of view:%d at socket %s (org %d, room view:%d)", r.Name, r.ID, m.View, s.ID, s.Org, s.View))
			case m.Client && m.Sender == s.ID:
				tally(m).WrongRoom++ // the sender must never get its own client event
				v.Unexplained = append(v.Unexplained, fmt.Sprintf("ECHO user.typing id=%d back to its sender %s", r.ID, s.ID))
			}
		}
		received[s] = got
	}
	ids := make([]int64, 0, len(l.mutations))
	for id := range l.mutations {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		m := l.mutations[id]
		t := tally(m)
		t.Mutations++
		if !m.OK() {
			continue
		}
		t.OK++
		for _, s := range byOrg[m.Org] {
			fc := s.firstConn()
			if fc == 0 || fc >= m.Sent {
				continue
			}
			if s.Closed != 0 && m.Resp+closeMargin >= s.Closed {
				continue
			}
			if m.Room && !s.inRoom(m.View, m.Sent) {
				continue
			}
			if m.Client && m.Sender == s.ID {
				continue
			}
			t.Expected++
			switch {
			case received[s][key{m.Client, m.ID}] > 0:
				t.Delivered++
			default:
				c, why := s.coveredAt(m.Sent)
				if c > 0 && c-m.Sent <= coverWindow {
					t.Covered++
					v.CoverMax = max(v.CoverMax, c-m.Sent)
					continue
				}
				note := "no resync and no fresh reconnect after it"
				if c > 0 {
					note = fmt.Sprintf("covered only %.3fs later (%s), beyond the %.1fs window",
						float64(c-m.Sent)/1000, why, float64(coverWindow)/1000)
				}
				t.Lost++
				v.Lost = append(v.Lost, LostEvent{M: m, Socket: s, Note: note})
			}
		}
	}
	for i := range phases {
		v.Total.add(v.Trigger[i])
		v.Total.add(v.Client[i])
	}
	// Receipts that were not expected but legitimate (failed calls that fired anyway, events
	// in flight around a subscription or a close) are Extra, for information.
	for s, got := range received {
		for k := range got {
			m := l.mutations[k.id]
			if m == nil || m.Org != s.Org || (m.Room && m.View != s.View) {
				continue
			}
			if !m.OK() || s.firstConn() >= m.Sent || (m.Room && !s.inRoom(m.View, m.Sent)) {
				tally(m).Extra++
				v.Total.Extra++
			}
		}
	}
	return v
}

// WriteTable prints the ledger per phase and in total.
func (v *Verdict) WriteTable(w io.Writer) {
	row := func(name string, t Tally) {
		fmt.Fprintf(w, "%-28s %7d %7d %9d %9d %8d %6d %5d %9d %10d %6d %9d\n", name, t.Mutations, t.OK, t.Expected,
			t.Delivered, t.Covered, t.Lost, t.Duplicates, t.WrongOrg, t.WrongRoom, t.Extra, t.Redundant)
	}
	head := func(title string) {
		fmt.Fprintf(w, "%-28s %7s %7s %9s %9s %8s %6s %5s %9s %10s %6s %9s\n", title, "sent", "ok", "expected",
			"delivered", "covered", "LOST", "dup", "wrongorg", "wrongroom", "extra", "redundant")
	}
	for _, kind := range []struct {
		title string
		t     []Tally
	}{{"trigger events / phase", v.Trigger}, {"client events / phase", v.Client}} {
		head(kind.title)
		var sum Tally
		for i, p := range v.Phases {
			row(p.Name, kind.t[i])
			sum.add(kind.t[i])
		}
		row("total", sum)
		fmt.Fprintln(w)
	}
	row("ALL", v.Total)
	fmt.Fprintf(w, "sockets %d, reconnects %d (recovered %d), stuck at end %d, unreported %d, subscribe refused %d, bad driver lines %d\n",
		v.Sockets, v.Reconnects, v.Recovered, len(v.Stuck), v.NoFinal, v.SubFails, v.BadLines)
	fmt.Fprintf(w, "resyncs by reason %s; connect errors %s; longest cover delay %.3fs\n",
		fmtCounts(v.Resyncs), fmtCounts(v.ConnErrors), float64(v.CoverMax)/1000)
	for i, u := range v.Unexplained {
		if i == 20 {
			fmt.Fprintf(w, "... %d more\n", len(v.Unexplained)-20)
			break
		}
		fmt.Fprintln(w, u)
	}
	if len(v.Stuck) > 0 {
		fmt.Fprintf(w, "stuck sockets (first 10): %s\n", strings.Join(v.Stuck[:min(10, len(v.Stuck))], " "))
	}
}

func fmtCounts(m map[string]int) string {
	if len(m) == 0 {
		return "{}"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%q:%d", k, m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// WriteLost writes the first n lost events and the first n duplicates in detail: the
// mutation, the socket's history and the faults, times in seconds since start.
func (v *Verdict) WriteLost(w io.Writer, n int, start int64, faults []Fault) {
	rel := func(t int64) string {
		if t == 0 {
			return "-"
		}
		return fmt.Sprintf("%.3fs", float64(t-start)/1000)
	}
	fmt.Fprintf(w, "%d lost events, %d duplicates; faults:", len(v.Lost), len(v.Dups))
	for _, f := range faults {
		fmt.Fprintf(w, " [%s at %s..%s]", f.Name, rel(f.At), rel(f.Done))
	}
	fmt.Fprintln(w)
	for i, le := range v.Lost {
		if i == n {
			break
		}
		fmt.Fprintf(w, "\nLOST #%d ", i+1)
		writeCase(w, le, rel)
	}
	for i, le := range v.Dups {
		if i == n {
			break
		}
		fmt.Fprintf(w, "\nDUPLICATE #%d ", i+1)
		if le.M == nil {
			fmt.Fprintf(w, "%s id=%d ", le.Name, le.ID)
		}
		writeCase(w, le, rel)
	}
}

func writeCase(w io.Writer, le LostEvent, rel func(int64) string) {
	m, s := le.M, le.Socket
	around := int64(0)
	if m != nil {
		kind := "org-wide"
		if m.Room {
			kind = fmt.Sprintf("room view:%d", m.View)
		}
		if m.Client {
			kind = "client event from " + m.Sender
		}
		fmt.Fprintf(w, "id=%d %s org=%d via node %d sent=%s ok=%s\n", m.ID, kind, m.Org, m.Node, rel(m.Sent), rel(m.Resp))
		around = m.Sent
	} else {
		fmt.Fprintln(w, "(unknown mutation)")
	}
	if le.Note != "" {
		fmt.Fprintf(w, "   why lost: %s\n", le.Note)
	}
	fmt.Fprintf(w, "   socket %s org=%d transport=%s room=view:%d created=%s closed=%s connected-at-end=%v\n",
		s.ID, s.Org, s.Transport, s.View, rel(s.Created), rel(s.Closed), s.Connected)
	var hist []string
	for _, c := range s.Conns {
		hist = append(hist, fmt.Sprintf("conn@%s node%d recovered=%v sid=%s", rel(c.T), c.Node, c.Recovered, c.SID))
	}
	for _, d := range s.Discs {
		hist = append(hist, fmt.Sprintf("disc@%s %q", rel(d.T), d.What))
	}
	for _, a := range s.Attempts {
		hist = append(hist, fmt.Sprintf("try@%s node%s", rel(a.T), a.What))
	}
	for _, r := range s.Resyncs {
		hist = append(hist, fmt.Sprintf("resync@%s %q", rel(r.T), r.What))
	}
	for _, e := range s.CErrs {
		hist = append(hist, fmt.Sprintf("connect_error@%s %q", rel(e.T), e.What))
	}
	for _, a := range s.Subs {
		hist = append(hist, fmt.Sprintf("subscribed@%s", rel(a)))
	}
	for _, r := range s.Recv {
		if le.ID != 0 && r.ID == le.ID {
			hist = append(hist, fmt.Sprintf("got@%s %s#%d", rel(r.T), r.Name, r.ID))
		}
	}
	sort.SliceStable(hist, func(i, j int) bool { return atOf(hist[i]) < atOf(hist[j]) })
	fmt.Fprintf(w, "   history: %s\n", strings.Join(hist, "; "))
	if around == 0 {
		return
	}
	// The receipts just around the mutation: what the socket got instead.
	var near []string
	for _, r := range s.Recv {
		if r.T >= around-2000 && r.T <= around+5000 && len(near) < 16 {
			near = append(near, fmt.Sprintf("%s#%d@%s", r.Name, r.ID, rel(r.T)))
		}
	}
	fmt.Fprintf(w, "   received from sent-2s to sent+5s: %s\n", strings.Join(near, " "))
}

// atOf sorts history entries by their "@12.345s" time.
func atOf(s string) float64 {
	i := strings.IndexByte(s, '@')
	if i < 0 {
		return 0
	}
	var f float64
	_, _ = fmt.Sscanf(strings.TrimSuffix(strings.Fields(s[i+1:])[0], "s"), "%g", &f)
	return f
}
