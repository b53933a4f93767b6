package multinode

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/syncgate/syncgate/internal/testenv"
)

// redisClients counts the connections of redis-server by client name (CLIENT LIST).
func redisClients(t *testing.T, r *testenv.Redis) map[string]int {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr()})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := rdb.ClientList(ctx).Result()
	if err != nil {
		t.Fatalf("CLIENT LIST: %v", err)
	}
	out := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		for _, f := range strings.Fields(line) {
			if name, ok := strings.CutPrefix(f, "name="); ok && name != "" {
				out[name]++
			}
		}
	}
	return out
}

// burst sends mutations PUT rows/{i} for i in 1..count, to org orgOf(i), through the
// nodes in turn, 16 at a time on separate connections: the publishes of a node overlap,
// as under real traffic, so its Redis pool is used at its fullest.
func burst(t *testing.T, nodes []*node, count int, orgOf func(int) int) {
	t.Helper()
	hc := &http.Client{Timeout: waitLong, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	defer hc.CloseIdleConnections()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []string
	)
	sem := make(chan struct{}, 16)
	for i := 1; i <= count; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			n := nodes[i%len(nodes)]
			req, _ := http.NewRequest("PUT", "http://"+n.addr+rowPath(orgOf(i), i), nil)
			resp, err := hc.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != 200 {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, err.Error())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d mutations failed, first: %s", len(errs), count, errs[0])
	}
}

func TestRedisConnectionsPerNodeDoNotGrowWithOrgs(t *testing.T) {
	const orgs = 200
	r, a, b := twoNodes(t, members(t, orgs))
	nodes := []*node{a, b}
	c := testenv.StartNode(t)

	// One org: 20 sockets per node connecting 20 at a time (each saves a recovery session
	// in Redis), then a burst of concurrent mutations through both nodes.
	for _, n := range nodes {
		res, err := c.ConnectMany("one"+n.name, 20, n.url("/org/1"), once("alice"), 20)
		if err != nil || res.Connected != 20 {
			t.Fatalf("node %s: ConnectMany = %+v, %v", n.name, res, err)
		}
	}
	// Bursts until the count settles: the pools have grown as far as this load takes them.
	var withOne map[string]int
	for range 4 {
		burst(t, nodes, 64, func(int) int { return 1 })
		got := redisClients(t, r)
		if fmt.Sprint(got) == fmt.Sprint(withOne) {
			break
		}
		withOne = got
	}

	// 200 orgs, a socket in each on both nodes, the same burst spread over the orgs.
	var names, urls []string
	for org := 1; org <= orgs; org++ {
		for _, n := range nodes {
			names = append(names, fmt.Sprintf("%s%d", n.name, org))
			urls = append(urls, n.url(fmt.Sprintf("/org/%d", org)))
		}
	}
	connectAll(t, c, names, urls, once("alice"))
	burst(t, nodes, 64, func(i int) int { return 1 + i%orgs })
	// Every org fans out: a mutation of each org through A reaches its socket on B.
	for org := 1; org <= orgs; org++ {
		a.addRow(org, 10_000+org)
	}
	for org := 1; org <= orgs; org++ {
		name := fmt.Sprintf("B%d", org)
		ev, err := c.WaitEvent(name, "personview.addrow", waitLong)
		for err == nil && personID(t, ev) != 10_000+org { // skip this org's burst events
			ev, err = c.WaitEvent(name, "personview.addrow", waitLong)
		}
		if err != nil {
			t.Fatalf("org %d: %v", org, err)
		}
	}
	withMany := redisClients(t, r)

	t.Logf("Redis connections per node: 1 org %v, %d orgs %v", withOne, orgs, withMany)
	for _, n := range nodes {
		if withOne[n.name] == 0 {
			t.Fatalf("node %s has no named Redis connection: %v", n.name, withOne)
		}
		if withMany[n.name] != withOne[n.name] {
			t.Errorf("node %s: %d Redis connections with %d orgs, %d with 1 org: the count must not depend on the orgs",
				n.name, withMany[n.name], orgs, withOne[n.name])
		}
		// The pool (4) and the emitter subscription (1), whatever the load.
		if withMany[n.name] > 5 {
			t.Errorf("node %s: %d Redis connections, want at most 5", n.name, withMany[n.name])
		}
	}
}
