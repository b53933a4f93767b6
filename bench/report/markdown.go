package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/syncgate/syncgate/bench/scenario"
)

// FanoutSummary is the median of one fan-out size for one system.
type FanoutSummary struct {
	System                      string
	Sockets, Events, Reps       int
	Rate                        float64
	DeliveriesPerSec, CPUPerDel float64
	P50, P99, Max               time.Duration
	Lost                        int64 // summed over repetitions
	Failed, Sent                int   // mutations, summed over repetitions
	GenShare                    float64
}

// SummarizeFanout returns medians per (sockets, events, system), in a stable order.
func SummarizeFanout(rs []scenario.FanoutResult) []FanoutSummary {
	groups := map[key][]scenario.FanoutResult{}
	var keys []key
	for _, r := range rs {
		k := key{r.Sockets, r.Events, r.System}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	slices.SortFunc(keys, func(x, y key) int {
		if x.a != y.a {
			return x.a - y.a
		}
		if x.b != y.b {
			return x.b - y.b
		}
		return systemOrder(x.t, y.t)
	})
	var out []FanoutSummary
	for _, k := range keys {
		g := groups[k]
		var dps, cpu, p50, p99, mx, share []float64
		s := FanoutSummary{System: k.t, Sockets: k.a, Events: k.b, Reps: len(g), Rate: g[0].Rate}
		for _, r := range g {
			dps = append(dps, r.DeliveriesPerSec())
			cpu = append(cpu, r.CPUPerDelivery())
			p50 = append(p50, float64(r.Stats.Percentile(0.50)))
			p99 = append(p99, float64(r.Stats.Percentile(0.99)))
			mx = append(mx, float64(r.Stats.Percentile(1)))
			share = append(share, r.GenShare())
			s.Lost += r.Stats.Lost
			s.Failed += r.Send.Failed
			s.Sent += r.Send.OK + r.Send.Failed
		}
		s.DeliveriesPerSec, s.CPUPerDel, s.GenShare = median(dps), median(cpu), median(share)
		s.P50, s.P99, s.Max = time.Duration(median(p50)), time.Duration(median(p99)), time.Duration(median(mx))
		out = append(out, s)
	}
	return out
}

// IdleSummary is the median of one idle size and transport for one system.
type IdleSummary struct {
	System, Transport       string
	Sockets, Reps           int
	RSSPerConn, HeapPerConn float64 // HeapPerConn < 0: not available
}

// SummarizeIdle returns medians per (transport, sockets, system).
func SummarizeIdle(rs []scenario.IdleResult) []IdleSummary {
	groups := map[key][]scenario.IdleResult{}
	var keys []key
	for _, r := range rs {
		k := key{r.Sockets, 0, r.Transport + "\x00" + r.System}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	slices.SortFunc(keys, func(x, y key) int {
		tx, sx, _ := strings.Cut(x.t, "\x00")
		ty, sy, _ := strings.Cut(y.t, "\x00")
		if tx != ty {
			return -strings.Compare(tx, ty) // websocket before polling
		}
		if x.a != y.a {
			return x.a - y.a
		}
		return systemOrder(sx, sy)
	})
	var out []IdleSummary
	for _, k := range keys {
		g := groups[k]
		var rss, heap []float64
		for _, r := range g {
			rss = append(rss, r.RSSPerConn())
			if h := r.HeapPerConn(); h >= 0 {
				heap = append(heap, h)
			}
		}
		t, sys, _ := strings.Cut(k.t, "\x00")
		s := IdleSummary{System: sys, Transport: t, Sockets: k.a, Reps: len(g), RSSPerConn: median(rss), HeapPerConn: -1}
		if len(heap) > 0 {
			s.HeapPerConn = median(heap)
		}
		out = append(out, s)
	}
	return out
}

// WriteMarkdown writes the whole report.
func WriteMarkdown(w io.Writer, run Run, charts []string) error {
	var b strings.Builder
	m := run.Machine
	fmt.Fprintf(&b, "# syncgate benchmark run, %s\n\n", run.Started.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "- Machine: %s, %d cores, %.0f GiB, Linux %s; %s, node %s, socket.io %s\n", m.CPU, m.Cores, m.MemGiB, m.Kernel, m.Go, m.Node, m.SocketIO)
	fmt.Fprintf(&b, "- Load average (1/5/15 min) before: %s, after: %s. The load generator runs on the same machine.\n", m.LoadBefore, m.LoadAfter)
	fmt.Fprintf(&b, "- Command: `%s`\n", run.Command)
	if run.Source != "" {
		fmt.Fprintf(&b, "- Source: %s\n", run.Source)
	}
	for _, n := range run.Notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	writeHeadline(&b, run)
	if len(run.Rates) > 0 {
		writeRates(&b, run.Rates, run.Repro["rates"])
	}
	if len(run.MaxRate) > 0 {
		writeMaxRate(&b, run.MaxRate, run.Repro["maxrate"])
	}
	if len(run.Fanout) > 0 {
		writeFanout(&b, run.Fanout)
	}
	if len(run.Idle) > 0 {
		writeIdle(&b, run.Idle)
	}
	if len(run.Storm) > 0 {
		writeStorm(&b, run.Storm)
	}
	if len(run.Proxy) > 0 {
		writeProxy(&b, run.Proxy, run.Repro["proxy"])
	}
	if len(run.TwoNode) > 0 {
		writeTwoNode(&b, run.TwoNode)
	}
	if run.Profile != nil {
		writeProfile(&b, *run.Profile)
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

func writeFanout(b *strings.Builder, rs []scenario.FanoutResult) {
	b.WriteString("\n## Fan-out (closed loop, saturating): N websocket sockets in one org, E events through the mutation endpoint\n\n")
	b.WriteString("At most --inflight (32) mutations in flight, offered faster than any system delivers: each system runs at its own saturation point, ")
	b.WriteString("so these rows compare different operating points (see the equal-rate and max-rate tables for like with like). ")
	b.WriteString("Lost counts only events whose mutation got a 2xx; failed mutations are their own column. ")
	b.WriteString("Latency: from the send of the triggering PUT to the event's arrival at the socket. ")
	b.WriteString("CPU: utime+stime of the server process over the measured phase, per distinct delivery ")
	b.WriteString("(µs per delivery = CPU seconds per million deliveries). Generator share: the load generator's ")
	b.WriteString("CPU over server + generator + fake upstream.\n\n")
	sum := SummarizeFanout(rs)
	b.WriteString("### Medians\n\n")
	b.WriteString("| sockets × events | offered ev/s | system | deliveries/s | p50 | p99 | max | server CPU µs/delivery | vs node CPU | vs bare CPU | losses (all reps) | failed mutations (all reps) | gen share | reps |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range sum {
		node, bare := findFanout(sum, s.Sockets, s.Events, "node"), findFanout(sum, s.Sockets, s.Events, "bare")
		fmt.Fprintf(b, "| %d × %d | %s | %s | %s | %s | %s | %s | %.3f | %s | %s | %d | %d of %d | %.0f%% | %d |\n",
			s.Sockets, s.Events, rate(s.Rate), s.System, thousands(s.DeliveriesPerSec), dur(s.P50), dur(s.P99), dur(s.Max),
			s.CPUPerDel, ratio(s.CPUPerDel, node, func(x FanoutSummary) float64 { return x.CPUPerDel }),
			ratio(s.CPUPerDel, bare, func(x FanoutSummary) float64 { return x.CPUPerDel }),
			s.Lost, s.Failed, s.Sent, 100*s.GenShare, s.Reps)
	}
	b.WriteString("\n### Every repetition\n\n")
	b.WriteString("| sockets × events | system | rep | deliveries/s | p50 | p99 | max | server CPU s | µs/delivery | gen CPU s | gen µs/delivery | upstream CPU s | expected | received | lost | dups | disconnected | send failures | send behind | connect | load before |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		st := r.Stats
		fmt.Fprintf(b, "| %d × %d | %s | %d | %s | %s | %s | %s | %.2f | %.3f | %.2f | %.3f | %.2f | %d | %d | %d | %d | %d | %d | %s | %s | %s |\n",
			r.Sockets, r.Events, r.System, r.Rep, thousands(r.DeliveriesPerSec()), dur(st.Percentile(0.5)), dur(st.Percentile(0.99)),
			dur(st.Percentile(1)), r.ServerCPU.Seconds(), r.CPUPerDelivery(), r.GenCPU.Seconds(), r.GenPerDelivery(), r.UpstreamCPU.Seconds(),
			st.Expected, st.Received, st.Lost, st.Dups, st.Disconnected, r.Send.Failed, dur(r.Send.Behind), dur(r.Connect), r.LoadAvg)
	}
}

func findFanout(sum []FanoutSummary, sockets, events int, system string) *FanoutSummary {
	for i := range sum {
		if sum[i].Sockets == sockets && sum[i].Events == events && sum[i].System == system {
			return &sum[i]
		}
	}
	return nil
}

func writeIdle(b *strings.Builder, rs []scenario.IdleResult) {
	b.WriteString("\n## Idle memory: N idle sockets in one org\n\n")
	b.WriteString("RSS/conn: growth of the server's VmRSS from before to after connecting N sockets (after a 20-socket warm-up), ")
	b.WriteString("divided by N; the same method for every system. Heap/conn: the same growth of the heap the server reports ")
	b.WriteString("after a forced GC (Go HeapInuse; Node V8 heapUsed); syncgate's comes from `syncgate-inproc` (the same gateway ")
	b.WriteString("in the benchmark binary), since the syncgate binary has no stats endpoint.\n\n")
	sum := SummarizeIdle(rs)
	b.WriteString("| transport | sockets | system | RSS/conn | heap/conn | reps |\n|---|---|---|---|---|---|\n")
	for _, s := range sum {
		heap := "—"
		if s.HeapPerConn >= 0 {
			heap = bytesStr(s.HeapPerConn)
		}
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %d |\n", s.Transport, s.Sockets, s.System, bytesStr(s.RSSPerConn), heap, s.Reps)
	}
	b.WriteString("\n| transport | sockets | system | rep | RSS before | RSS after | heap before | heap after | alive | connect | load before |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		fmt.Fprintf(b, "| %s | %d | %s | %d | %s | %s | %s | %s | %d | %s | %s |\n", r.Transport, r.Sockets, r.System, r.Rep,
			mib(r.RSSBefore), mib(r.RSSAfter), mib(r.HeapBefore), mib(r.HeapAfter), r.Alive, dur(r.Connect), r.LoadAvg)
	}
}

func writeProfile(b *strings.Builder, p scenario.ProfileResult) {
	f := p.Fanout
	fmt.Fprintf(b, "\n## Profile: syncgate fan-out in process (%d sockets × %d events at %s ev/s)\n\n", f.Sockets, f.Events, rate(f.Rate))
	fmt.Fprintf(b, "`syncbench gateway-inproc` runs gateway.New + Handler (as cmd/syncgate does) with runtime/pprof; the CPU profile covers the measured phase, ")
	fmt.Fprintf(b, "the heap profile is taken after it with every socket still connected. This run: %s deliveries/s, %.3f µs CPU per delivery, %d lost.\n\n",
		thousands(f.DeliveriesPerSec()), f.CPUPerDelivery(), f.Stats.Lost)
	fmt.Fprintf(b, "CPU (`go tool pprof -top %s`):\n\n```\n%s```\n\n", p.CPUFile, trimTop(p.CPUTop))
	fmt.Fprintf(b, "CPU by cumulative cost (`go tool pprof -top -cum %s`):\n\n```\n%s```\n\n", p.CPUFile, trimTop(p.CPUCum))
	fmt.Fprintf(b, "Heap in use (`go tool pprof -top -sample_index=inuse_space %s`):\n\n```\n%s```\n", p.HeapFile, trimTop(p.HeapTop))
}

// trimTop drops pprof's file/build header lines, keeping the table.
func trimTop(s string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.HasPrefix(line, "File:") || strings.HasPrefix(line, "Build ID:") || strings.HasPrefix(line, "Type:") && len(out) > 0 {
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func ratio(v float64, ref *FanoutSummary, get func(FanoutSummary) float64) string {
	if ref == nil || get(*ref) == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", v/get(*ref))
}

func rate(r float64) string {
	if r <= 0 {
		return "max"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

func dur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
}

func thousands(x float64) string {
	s := strconv.FormatInt(int64(x+0.5), 10)
	var out []byte
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	return string(out)
}

func bytesStr(x float64) string {
	if x >= 1024 || x <= -1024 {
		return fmt.Sprintf("%.1f KiB", x/1024)
	}
	return fmt.Sprintf("%.0f B", x)
}

func mib(x int64) string {
	if x < 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f MiB", float64(x)/(1<<20))
}

func parseFloat(s string) (float64, error) { return strconv.ParseFloat(s, 64) }
