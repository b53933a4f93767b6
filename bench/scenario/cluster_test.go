package scenario_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/syncgate/syncgate/bench/scenario"
	"github.com/syncgate/syncgate/bench/systems"
	"github.com/syncgate/syncgate/bench/upstream"
)

// The scaling-out scenario on both engines with two real syncgate nodes: every delivery
// arrives; on one Redis each node reads every broadcast, on a Redis Cluster only those of
// the orgs it has sockets in, and reads fewer bytes from Redis for it.
func TestClusterScenarioNodesReadOnlyTheirOrgsOnACluster(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	const orgs = 20
	up := httptest.NewServer(upstream.New(orgs))
	t.Cleanup(up.Close)
	e := systems.Env{RepoRoot: root, WorkDir: t.TempDir(), Upstream: up.URL + upstream.Prefix}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := systems.Prepare(ctx, e, []string{systems.Syncgate}); err != nil {
		t.Fatal(err)
	}
	bytesPerNode := map[string]int64{}
	for _, engine := range []string{scenario.EngineRedis, scenario.EngineCluster} {
		t.Run(engine, func(t *testing.T) {
			env, seeds := e, ""
			var redis []*systems.Process
			if engine == scenario.EngineCluster {
				c, err := systems.StartRedisCluster(ctx, 3)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(c.Stop)
				redis, seeds = c.Masters, c.Seeds()
			} else {
				r, err := systems.StartRedis(ctx)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(r.Stop)
				redis, env.Redis = []*systems.Process{r}, "redis://"+r.Addr+"/0"
			}
			var nodes []*systems.Process
			var admins []string
			for range 2 {
				p, admin, err := systems.StartNode(ctx, env, seeds)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(p.Stop)
				nodes, admins = append(nodes, p), append(admins, admin)
			}
			r, err := scenario.Cluster(ctx, nodes, admins, redis, scenario.ClusterConfig{Engine: engine, Sockets: 2 * orgs, Orgs: orgs,
				Users: 10, Rate: 100, Duration: time.Second, Quiet: 3 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if !r.Complete || r.Stats.Lost != 0 || r.Send.OK != 100 || r.Stats.Received != 2*100 {
				t.Fatalf("complete %v, lost %d, sent %+v, received %d", r.Complete, r.Stats.Lost, r.Send, r.Stats.Received)
			}
			for i, n := range r.PerNode {
				// Each org's sockets are on one node: half the orgs, half the events each.
				if n.Orgs != orgs/2 || n.Sockets != orgs || n.OwnEvents != 50 || n.Stats.Lost != 0 || n.RedisBytes <= 0 {
					t.Errorf("node %d: %+v", i+1, n)
				}
				want := int64(r.Send.OK) // the whole bus
				if engine == scenario.EngineCluster {
					want = int64(n.OwnEvents) // only its orgs
				}
				if n.Received != want {
					t.Errorf("node %d read %d broadcasts from Redis, want %d", i+1, n.Received, want)
				}
				bytesPerNode[engine] += n.RedisBytes / 2
			}
		})
	}
	if c, s := bytesPerNode[scenario.EngineCluster], bytesPerNode[scenario.EngineRedis]; c <= 0 || c >= s {
		t.Errorf("Redis bytes read per node: %d on the cluster, %d on one Redis; want fewer on the cluster", c, s)
	}
}
