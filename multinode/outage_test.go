package multinode

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
)

// figuresFile receives the outage figures for the release note.
const figuresFile = "/tmp/redis-outage-figures.txt"

// isEndMarker is the event that ends a stream: personview.deleterow (the stream only adds).
func isEndMarker(ev testenv.Event) bool { return ev.Event == "personview.deleterow" }

func TestRedisRestartDuringStreamLosesNothingSilently(t *testing.T) {
	r, a, b := twoNodes(t, members(t, 2))
	c := testenv.StartNode(t)

	// Sockets of orgs 1 and 2 on A (where every mutation goes through) and on B.
	names := []string{"A1", "A2", "B1", "B2"}
	nodeOf := map[byte]*node{'A': a, 'B': b}
	urls := make([]string, len(names))
	for i, s := range names {
		urls[i] = nodeOf[s[0]].url("/org/" + s[1:])
	}
	connectAll(t, c, names, urls, once("alice"))
	cols := map[string]*collector{}
	for _, s := range names {
		cols[s] = collect(c, s, isEndMarker)
	}

	st := startStream(a, 5*time.Millisecond, func(i int) int { return 1 + i%2 })
	st.waitMore(t, 20)
	r.Stop()
	downFrom := st.last.Load() + 1
	st.waitMore(t, 20)
	// Down: both nodes say so, and keep serving (the stream's requests keep succeeding).
	a.waitReadyz(http.StatusServiceUnavailable)
	b.waitReadyz(http.StatusServiceUnavailable)
	if code := b.do("GET", "/healthz"); code != http.StatusOK {
		t.Fatalf("node B /healthz = %d while Redis is down", code)
	}
	r.Start()
	downTo := st.last.Load()
	a.waitReadyz(http.StatusOK)
	b.waitReadyz(http.StatusOK)
	st.waitMore(t, 20)
	total := st.end(t)
	// The end markers, once both nodes are whole again.
	a.deleteRow(1, 0)
	a.deleteRow(2, 0)

	var localSum, remoteSum tally
	var lines []string
	for _, s := range names {
		org := int(s[1] - '0')
		tl, lost := account(t, st, st.sentTo(org), cols[s].wait(t))
		lines = append(lines, fmt.Sprintf("  socket %s (org %d, node %c): %v", s, org, s[0], tl))
		if s[0] == 'A' {
			localSum.add(tl)
			// The mutating node's own sockets get everything, Redis or not.
			if tl.Delivered != tl.Sent {
				t.Errorf("local socket %s: %v; it must receive every event while Redis is down", s, tl)
			}
		} else {
			remoteSum.add(tl)
		}
		if tl.Lost != 0 {
			t.Errorf("socket %s lost %d events silently (neither received nor covered by a resync): %v", s, tl.Lost, lost)
		}
		if tl.Duplicates != 0 || tl.Disorder != 0 || tl.Foreign != 0 {
			t.Errorf("socket %s: %v", s, tl)
		}
	}
	report := fmt.Sprintf("Redis stopped and restarted during a stream of mutations (%s, %s):\n"+
		"  2 nodes on one redis-server, mutations through node A to orgs 1 and 2 every 5ms, a socket per org on each node.\n"+
		"  mutations published: %d; while Redis was stopping, down and starting: #%d..#%d (%d)\n"+
		"  sockets on the mutating node: %v\n"+
		"  sockets on the other node:    %v\n%s\n",
		t.Name(), time.Now().UTC().Format(time.RFC3339), total, downFrom, downTo, downTo-downFrom+1,
		localSum, remoteSum, strings.Join(lines, "\n"))
	t.Log("\n" + report)
	if err := os.WriteFile(figuresFile, []byte(report), 0o644); err != nil {
		t.Logf("figures not written to %s: %v", figuresFile, err)
	}
}
