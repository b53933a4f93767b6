package report

import (
	"cmp"
	"fmt"
	"image/color"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/syncgate/syncgate/bench/scenario"
)

// ClusterSummary is one (engine, nodes) run of the scaling-out scenario, averaged over its
// nodes (medians over repetitions).
type ClusterSummary struct {
	Engine         string
	Label          string // "1 Redis" or "Redis Cluster, N masters"
	Nodes, Reps    int
	Sockets, Orgs  int
	Rate           float64
	BytesPerSecond float64 // Redis bytes read per node per second of the phase (mean over nodes)
	BytesPerOwn    float64 // Redis bytes per mutation of the node's own orgs
	ReceivedShare  float64 // broadcasts read from Redis per node ÷ mutations sent (-1: unknown)
	CPUPerDel      float64 // µs, all nodes' CPU ÷ all deliveries
	P50, P99       time.Duration
	Lost           int64
}

func init() {
	palette[engineLabel(scenario.EngineRedis, 1)] = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	palette[engineLabel(scenario.EngineCluster, 3)] = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
}

func engineLabel(engine string, masters int) string {
	if engine == scenario.EngineCluster {
		return fmt.Sprintf("Redis Cluster, %d masters (--redis-cluster)", masters)
	}
	return "1 Redis (--redis)"
}

// SummarizeCluster returns one row per (engine, nodes), engines in the order met.
func SummarizeCluster(rs []scenario.ClusterResult) []ClusterSummary {
	type k struct {
		engine string
		nodes  int
	}
	groups := map[k][]scenario.ClusterResult{}
	var keys []k
	for _, r := range rs {
		key := k{r.Engine, r.Nodes}
		if _, ok := groups[key]; !ok {
			keys = append(keys, key)
		}
		groups[key] = append(groups[key], r)
	}
	var out []ClusterSummary
	for _, key := range keys {
		g := groups[key]
		s := ClusterSummary{Engine: key.engine, Label: engineLabel(key.engine, g[0].Masters), Nodes: key.nodes, Reps: len(g),
			Sockets: g[0].Sockets, Orgs: g[0].Orgs, Rate: g[0].Rate}
		var bps, bpo, share, cpu, p50, p99 []float64
		for _, r := range g {
			var bytes, own, recv, deliveries float64
			var cpuUS float64
			known := true
			for _, n := range r.PerNode {
				bytes += float64(n.RedisBytes)
				own += float64(n.OwnEvents)
				if n.Received < 0 {
					known = false
				}
				recv += float64(n.Received)
				cpuUS += float64(n.CPU.Microseconds())
				deliveries += float64(n.Stats.Received)
			}
			nodes := float64(max(len(r.PerNode), 1))
			if secs := r.Elapsed.Seconds(); secs > 0 {
				bps = append(bps, bytes/nodes/secs)
			}
			if own > 0 {
				bpo = append(bpo, bytes/own)
			}
			if sent := float64(r.Send.OK); known && sent > 0 {
				share = append(share, recv/nodes/sent)
			}
			if deliveries > 0 {
				cpu = append(cpu, cpuUS/deliveries)
			}
			p50 = append(p50, float64(r.P50))
			p99 = append(p99, float64(r.P99))
			s.Lost += r.Stats.Lost
		}
		s.BytesPerSecond, s.BytesPerOwn, s.CPUPerDel = median(bps), median(bpo), median(cpu)
		s.ReceivedShare = -1
		if len(share) > 0 {
			s.ReceivedShare = median(share)
		}
		s.P50, s.P99 = time.Duration(median(p50)), time.Duration(median(p99))
		out = append(out, s)
	}
	slices.SortStableFunc(out, func(a, b ClusterSummary) int {
		return cmp.Or(cmp.Compare(engineRank(a.Engine), engineRank(b.Engine)), cmp.Compare(a.Nodes, b.Nodes))
	})
	return out
}

func engineRank(e string) int {
	if e == scenario.EngineRedis {
		return 0
	}
	return 1
}

// WriteClusterMarkdown writes the scaling-out report: run's header (machine, command,
// source, notes), the summary table, every node's row, and the charts.
func WriteClusterMarkdown(w io.Writer, run Run, rs []scenario.ClusterResult, charts []string) error {
	var b strings.Builder
	m := run.Machine
	fmt.Fprintf(&b, "# syncgate scaling out: nodes × Redis, %s\n\n", run.Started.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "- Machine: %s, %d cores, %.0f GiB, Linux %s; %s\n", m.CPU, m.Cores, m.MemGiB, m.Kernel, m.Go)
	fmt.Fprintf(&b, "- Load average (1/5/15 min) before: %s, after: %s. Every node, every redis-server and the load generator run on this machine.\n", m.LoadBefore, m.LoadAfter)
	fmt.Fprintf(&b, "- Command: `%s`\n", run.Command)
	if run.Source != "" {
		fmt.Fprintf(&b, "- Source: %s\n", run.Source)
	}
	for _, n := range run.Notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	writeClusterSummary(&b, rs)
	b.WriteString("\n## Every node\n\n")
	b.WriteString("| engine | nodes | rep | node | orgs | sockets | mutations to its orgs | Redis bytes read | bytes / own mutation | broadcasts read from Redis | CPU | µs CPU / delivery | deliveries | p50 | p99 | lost |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		for i, n := range r.PerNode {
			recv := "—"
			if n.Received >= 0 {
				recv = thousands(float64(n.Received))
			}
			per := "—"
			if n.OwnEvents > 0 {
				per = fmt.Sprintf("%.0f", float64(n.RedisBytes)/float64(n.OwnEvents))
			}
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %s | %s | %s | %s | %s | %.1f | %s | %s | %s | %d |\n",
				engineLabel(r.Engine, r.Masters), r.Nodes, r.Rep, i+1, n.Orgs, n.Sockets, thousands(float64(n.OwnEvents)),
				bytesStr(float64(n.RedisBytes)), per, recv, dur(n.CPU), n.CPUPerDelivery(), thousands(float64(n.Stats.Received)),
				dur(n.P50), dur(n.P99), n.Stats.Lost)
		}
	}
	b.WriteString("\n## Every run\n\n")
	b.WriteString("| engine | nodes | rep | sockets | orgs | mutations/s × s | sent OK | send failures | send behind | deliveries | p50 | p99 | lost | dups | disconnected | complete | redis-server CPU | connect | load before |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		st := r.Stats
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s × %.0f | %s | %d | %s | %s | %s | %s | %d | %d | %d | %s | %s | %s | %s |\n",
			engineLabel(r.Engine, r.Masters), r.Nodes, r.Rep, r.Sockets, r.Orgs, rate(r.Rate), r.Duration.Seconds(),
			thousands(float64(r.Send.OK)), r.Send.Failed, dur(r.Send.Behind), thousands(float64(st.Received)), dur(r.P50), dur(r.P99),
			st.Lost, st.Dups, st.Disconnected, yesNo(r.Complete), dur(r.RedisCPU), dur(r.Connect), r.LoadAvg)
	}
	if len(charts) > 0 {
		b.WriteString("\n## Charts\n\n")
		for _, c := range charts {
			fmt.Fprintf(&b, "![%s](%s)\n", strings.TrimSuffix(c, ".png"), c)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeClusterSummary(b *strings.Builder, rs []scenario.ClusterResult) {
	b.WriteString("\n## Per node, by engine and node count\n\n")
	if len(rs) > 0 {
		r := rs[0]
		fmt.Fprintf(b, "Websocket sockets spread over the orgs; each org's sockets are on %d node(s), so with N nodes a node has sockets in about %d/N of the orgs. ",
			r.Spread, r.Spread)
		fmt.Fprintf(b, "Mutations at a fixed rate for %.0f s, consecutive ones through alternate nodes, cycling through the orgs. ", r.Duration.Seconds())
	}
	b.WriteString("Redis bytes: what the node's process received on its TCP connections to the Redis port(s), from the kernel's tcp_info (`ss -ti` bytes_received), ")
	b.WriteString("whatever the client library; per second of the measured phase (first send → last delivery), averaged over the nodes. ")
	b.WriteString("Broadcasts read: `syncgate_redis_received_total` per node ÷ mutations sent in the whole deployment. ")
	b.WriteString("CPU per delivery: all nodes' CPU ÷ all deliveries. Latency: PUT sent → event at the socket, all sockets.\n\n")
	b.WriteString("| engine | nodes | sockets | orgs | mutations/s | Redis KiB/s per node | Redis bytes per mutation of the node's orgs | broadcasts read per node ÷ mutations | µs CPU / delivery | p50 | p99 | lost |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range SummarizeCluster(rs) {
		share := "—"
		if s.ReceivedShare >= 0 {
			share = fmt.Sprintf("%.2f", s.ReceivedShare)
		}
		fmt.Fprintf(b, "| %s | %d | %d | %d | %s | %.1f | %.0f | %s | %.1f | %s | %s | %d |\n", s.Label, s.Nodes, s.Sockets, s.Orgs, rate(s.Rate),
			s.BytesPerSecond/1024, s.BytesPerOwn,
			share, s.CPUPerDel, dur(s.P50), dur(s.P99), s.Lost)
	}
}

// ClusterCharts draws PREFIX-cluster-bytes.png (Redis bytes read per node) and
// PREFIX-cluster-cpu.png (CPU per delivery) into dir and returns their file names.
func ClusterCharts(rs []scenario.ClusterResult, dir, prefix string) ([]string, error) {
	return ClusterSummaryCharts(SummarizeCluster(rs), dir, prefix)
}

// ClusterSummaryCharts is ClusterCharts from the summary rows (for redrawing a saved table).
func ClusterSummaryCharts(sum []ClusterSummary, dir, prefix string) ([]string, error) {
	var groups, labels []string
	idx := map[int]int{}
	var nodes []int
	for _, s := range sum {
		if !slices.Contains(nodes, s.Nodes) {
			nodes = append(nodes, s.Nodes)
		}
		if !slices.Contains(labels, s.Label) {
			labels = append(labels, s.Label)
		}
	}
	slices.Sort(nodes)
	for i, n := range nodes {
		idx[n] = i
		groups = append(groups, fmt.Sprintf("%d node(s)", n))
	}
	get := func(v func(ClusterSummary) float64) []series {
		var ss []series
		for _, l := range labels {
			vals := make([]float64, len(groups))
			for _, s := range sum {
				if s.Label == l {
					vals[idx[s.Nodes]] = v(s)
				}
			}
			ss = append(ss, series{l, vals})
		}
		return ss
	}
	var files []string
	for _, c := range []struct {
		name, title, ylabel string
		v                   func(ClusterSummary) float64
	}{
		{"cluster-bytes", "Redis bytes read per node (mean over nodes)", "KiB/s per node", func(s ClusterSummary) float64 { return s.BytesPerSecond / 1024 }},
		{"cluster-cpu", "Node CPU per delivery (all nodes)", "µs per delivery", func(s ClusterSummary) float64 { return s.CPUPerDel }},
	} {
		if len(groups) == 0 {
			break
		}
		file := prefix + "-" + c.name + ".png"
		if err := groupedBars(filepath.Join(dir, file), c.title, c.ylabel, groups, get(c.v)); err != nil {
			return files, fmt.Errorf("report: chart %s: %w", c.name, err)
		}
		files = append(files, file)
	}
	return files, nil
}

// groupedBars draws one bar per series in each group, side by side, with room on both sides
// for the outer bars and above them for the legend.
func groupedBars(path, title, ylabel string, groups []string, ss []series) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	p.X.Min, p.X.Max = -0.5, float64(len(groups))-0.5
	p.Legend.Top, p.Legend.Left = true, true
	w := vg.Points(36)
	top := 0.0
	for _, s := range ss {
		top = max(top, slices.Max(s.values))
	}
	p.Y.Max = top * 1.35
	for i, s := range ss {
		bars, err := plotter.NewBarChart(plotter.Values(s.values), w)
		if err != nil {
			return err
		}
		bars.LineStyle.Width = 0
		bars.Color = colorOf(s.name, i)
		bars.Offset = w * vg.Length(float64(i)-float64(len(ss)-1)/2)
		p.Add(bars)
		p.Legend.Add(s.name, bars)
	}
	p.NominalX(groups...)
	return p.Save(vg.Points(float64(260+170*len(groups))), 300, path)
}
