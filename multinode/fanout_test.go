package multinode

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/syncgate/syncgate/internal/testenv"
)

// twoNodes starts a redis-server and nodes "A" and "B" on it, both ready (their bus
// readers connected), with extra flags.
func twoNodes(t *testing.T, api *testenv.FakeAPI, flags ...string) (*testenv.Redis, *node, *node) {
	t.Helper()
	r := testenv.StartRedis(t)
	a := startNode(t, api, "A", r.URL(), flags...)
	b := startNode(t, api, "B", r.URL(), flags...)
	a.waitReadyz(http.StatusOK)
	b.waitReadyz(http.StatusOK)
	return r, a, b
}

// connectAll connects the sockets of names to urls (same index) with opts, at most 16 at
// a time, and fails the test if any is refused.
func connectAll(t *testing.T, c *testenv.Node, names, urls []string, opts map[string]any) {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	sem := make(chan struct{}, 16)
	for i := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := c.Connect(names[i], urls[i], opts); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", names[i], err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d sockets not connected, first: %v", len(errs), len(names), errs[0])
	}
}

func TestMutationOnOneNodeReachesOtherNodeManyOrgsIsolated(t *testing.T) {
	const orgs = 20
	_, a, b := twoNodes(t, members(t, orgs))
	c := testenv.StartNode(t)

	// One socket per org on each node: a<org> on A, b<org> on B.
	var names, urls []string
	for org := 1; org <= orgs; org++ {
		nsp := fmt.Sprintf("/org/%d", org)
		names = append(names, fmt.Sprintf("a%d", org), fmt.Sprintf("b%d", org))
		urls = append(urls, a.url(nsp), b.url(nsp))
	}
	connectAll(t, c, names, urls, once("alice"))

	// Odd orgs mutate through A, even ones through B: every socket gets its org's events
	// from one node, in order, locally or over the bus.
	via := func(org int) *node {
		if org%2 == 1 {
			return a
		}
		return b
	}
	for org := 1; org <= orgs; org++ {
		via(org).addRow(org, org)
	}
	// Settle: a node delivers its own publishes at once but the other node's when it reads
	// them from the bus. A marker through A reaching B's socket of org 1 shows B has read
	// every earlier publish of A; one through B reaching A's socket of org 2 the converse.
	a.deleteRow(1, 0)
	b.deleteRow(2, 0)
	settled := map[string]bool{"b1": true, "a2": true}
	expectRows(t, c, "b1", row{"personview.addrow", 1}, row{"personview.deleterow", 0})
	expectRows(t, c, "a2", row{"personview.addrow", 2}, row{"personview.deleterow", 0})
	// The barrier: every event of round 1 is now queued ahead of round 2 on every
	// connection, so an event of another org delivered to a socket by mistake would show up
	// before the socket's own round-2 event.
	for org := 1; org <= orgs; org++ {
		via(org).addRow(org, 1000+org)
	}
	for org := 1; org <= orgs; org++ {
		for _, s := range []string{fmt.Sprintf("a%d", org), fmt.Sprintf("b%d", org)} {
			var want []row
			if !settled[s] {
				want = append(want, row{"personview.addrow", org})
				if org <= 2 {
					want = append(want, row{"personview.deleterow", 0})
				}
			}
			expectRows(t, c, s, append(want, row{"personview.addrow", 1000 + org})...)
		}
	}
}

// row is a personview event and its personId.
type row struct {
	event  string
	person int
}

// expectRows checks that the next events of socket name are exactly want, in order.
func expectRows(t *testing.T, c *testenv.Node, name string, want ...row) {
	t.Helper()
	for _, w := range want {
		if got := personID(t, waitOnly(t, c, name, w.event)); got != w.person {
			t.Fatalf("socket %s: %s for person %d, want person %d", name, w.event, got, w.person)
		}
	}
}
