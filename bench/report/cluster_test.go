package report

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/bench/loadgen"
	"github.com/syncgate/syncgate/bench/scenario"
)

// clusterRun is one run with nodes nodes, each reading bytesPerNode bytes from Redis in 10 s.
func clusterRun(engine string, nodes int, bytesPerNode int64) scenario.ClusterResult {
	r := scenario.ClusterResult{Engine: engine, Masters: 3, Nodes: nodes, Sockets: 2000, Orgs: 200, Spread: 1, Rate: 200,
		Duration: 10 * time.Second, Rep: 1, Elapsed: 10 * time.Second, Send: loadgen.SendResult{OK: 2000}}
	for range nodes {
		r.PerNode = append(r.PerNode, scenario.ClusterNode{Orgs: 200 / nodes, Sockets: 2000 / nodes, OwnEvents: 2000 / nodes,
			RedisBytes: bytesPerNode, Received: bytesPerNode / 100, CPU: time.Second,
			Stats: loadgen.PhaseStats{Received: int64(20000 / nodes)}})
	}
	return r
}

func TestClusterSummaryIsPerNodeAndPerOwnMutation(t *testing.T) {
	rs := []scenario.ClusterResult{
		clusterRun(scenario.EngineCluster, 2, 100_000),
		clusterRun(scenario.EngineRedis, 2, 200_000),
		clusterRun(scenario.EngineRedis, 1, 200_000),
	}
	sum := SummarizeCluster(rs)
	if len(sum) != 3 || sum[0].Engine != scenario.EngineRedis || sum[0].Nodes != 1 || sum[2].Engine != scenario.EngineCluster {
		t.Fatalf("order: %+v", sum)
	}
	two := sum[1] // redis, 2 nodes: each node read 200,000 B for its 1,000 own mutations
	if two.BytesPerSecond != 20_000 || two.BytesPerOwn != 200 || two.ReceivedShare != 1 || two.CPUPerDel != 100 {
		t.Errorf("redis, 2 nodes: %+v", two)
	}
	if c := sum[2]; c.BytesPerOwn != 100 || c.ReceivedShare != 0.5 {
		t.Errorf("cluster, 2 nodes: %+v", c)
	}
	var b strings.Builder
	if err := WriteClusterMarkdown(&b, Run{Command: "go run ./cmd/syncbench cluster"}, rs, []string{"x-cluster-bytes.png"}); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"| 1 Redis (--redis) | 2 | 2000 | 200 | 200 | 19.5 | 200 | 1.00 | 100.0 |", "Redis Cluster, 3 masters (--redis-cluster)", "![x-cluster-bytes](x-cluster-bytes.png)"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if n := strings.Count(md, "| 1 Redis (--redis) | 2 | 1 | "); n != 3 { // two node rows, one run row
		t.Errorf("%d rows of the 2-node redis run, want 3:\n%s", n, md)
	}
	dir := t.TempDir()
	files, err := ClusterCharts(rs, dir, "run")
	if err != nil || len(files) != 2 {
		t.Fatalf("charts %v: %v", files, err)
	}
	for _, f := range files {
		r, err := os.Open(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(r)
		r.Close()
		if err != nil || img.Bounds().Dx() < 200 {
			t.Fatalf("%s: not a usable PNG: %v", f, err)
		}
	}
}
