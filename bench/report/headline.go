package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/syncgate/syncgate/bench/scenario"
)

// ProxySummary is one method, concurrency and target, medians over repetitions.
type ProxySummary struct {
	Method, Target    string
	Concurrency, Reps int
	PerSec            float64
	P50, P99          time.Duration
	Failed            int
	// Against direct (the same method and concurrency): throughput lost and latency added.
	Loss           float64
	AddP50, AddP99 time.Duration
}

// SummarizeProxy returns medians per (method, concurrency, target), direct first.
func SummarizeProxy(rs []scenario.ProxyResult) []ProxySummary {
	type k struct {
		method, target string
		conc           int
	}
	groups := map[k][]scenario.ProxyResult{}
	var keys []k
	for _, r := range rs {
		kk := k{r.Method, r.Target, r.Concurrency}
		if _, ok := groups[kk]; !ok {
			keys = append(keys, kk)
		}
		groups[kk] = append(groups[kk], r)
	}
	rank := func(t string) int {
		return map[string]int{"direct": 0, "syncgate": 1, "nginx": 2, "goproxy": 3}[t]
	}
	slices.SortFunc(keys, func(a, b k) int {
		return cmp.Or(cmp.Compare(a.method, b.method), cmp.Compare(a.conc, b.conc), cmp.Compare(rank(a.target), rank(b.target)))
	})
	var out []ProxySummary
	for _, kk := range keys {
		s := ProxySummary{Method: kk.method, Target: kk.target, Concurrency: kk.conc, Reps: len(groups[kk])}
		var ps, p50, p99 []float64
		for _, r := range groups[kk] {
			ps = append(ps, r.PerSec())
			p50 = append(p50, float64(r.Percentile(.5)))
			p99 = append(p99, float64(r.Percentile(.99)))
			s.Failed += r.Failed
		}
		s.PerSec, s.P50, s.P99 = median(ps), time.Duration(median(p50)), time.Duration(median(p99))
		out = append(out, s)
	}
	for i := range out {
		if d := findProxy(out, out[i].Method, out[i].Concurrency, "direct"); d != nil && out[i].Target != "direct" && d.PerSec > 0 {
			out[i].Loss = 1 - out[i].PerSec/d.PerSec
			out[i].AddP50, out[i].AddP99 = out[i].P50-d.P50, out[i].P99-d.P99
		}
	}
	return out
}

func findProxy(sum []ProxySummary, method string, conc int, target string) *ProxySummary {
	for i := range sum {
		if sum[i].Method == method && sum[i].Concurrency == conc && sum[i].Target == target {
			return &sum[i]
		}
	}
	return nil
}

// headlineRow is one ratio of the headline table.
type headlineRow struct{ what, value, goal, cmd string }

// writeHeadline writes the table of ratios measured side by side in this run, each with
// the command that reproduces it. Rows whose scenarios did not run are left out.
func writeHeadline(b *strings.Builder, run Run) {
	var rows []headlineRow
	rows = append(rows, rateRows(run)...)
	rows = append(rows, maxRateRows(run)...)
	rows = append(rows, idleRows(run)...)
	rows = append(rows, proxyRows(run)...)
	rows = append(rows, lossRow(run)...)
	if len(rows) == 0 {
		return
	}
	b.WriteString("\n## Headline: ratios measured side by side in this run\n\n")
	b.WriteString("Each figure comes from the tables below (same run, same machine); the command reproduces that scenario alone.\n\n")
	b.WriteString("| measure | result | goal | command |\n|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(b, "| %s | %s | %s | `%s` |\n", r.what, r.value, r.goal, r.cmd)
	}
}

// rateRows compare syncgate with each peer at every rate both kept up with.
func rateRows(run Run) []headlineRow {
	if len(run.Rates) == 0 {
		return nil
	}
	sum := SummarizeRates(run.Rates)
	cmd := run.Repro["rates"]
	var rows []headlineRow
	for _, peer := range []string{"node", "node-cluster", "centrifugo", "bare"} {
		var cpu, p99 []string
		worstCPU, worstP99 := 0.0, 0.0
		var missed []string
		for _, s := range sum {
			if s.System != peer {
				continue
			}
			sg := findRate(sum, "syncgate", s.Offered)
			if sg == nil {
				continue
			}
			if !s.KeptUp() {
				continue // the peer did not sustain this rate: not compared
			}
			if !sg.KeptUp() {
				missed = append(missed, thousands(s.Offered))
				continue
			}
			rc, rp := sg.CPUPerDel/s.CPUPerDel, float64(sg.P99)/float64(max(s.P99, time.Microsecond))
			worstCPU, worstP99 = max(worstCPU, rc), max(worstP99, rp)
			cpu = append(cpu, fmt.Sprintf("%.2f× at %s", rc, thousands(s.Offered)))
			p99 = append(p99, fmt.Sprintf("%.2f× at %s (%s vs %s)", rp, thousands(s.Offered), dur(sg.P99), dur(s.P99)))
		}
		if len(cpu) == 0 && len(missed) == 0 {
			continue
		}
		note := ""
		if len(missed) > 0 {
			note = "; syncgate did not keep up at " + strings.Join(missed, ", ") + " where " + peer + " did"
		}
		goalCPU, goalP99 := "—", "—"
		switch peer {
		case "node":
			goalCPU, goalP99 = "≤ 0.5× at every rate Node sustains", "≤ 1×"
		case "centrifugo":
			goalP99 = "≤ 1×"
		}
		rows = append(rows,
			headlineRow{"CPU per delivery at equal rate, syncgate ÷ " + peer, fmt.Sprintf("worst %.2f× (%s)%s", worstCPU, strings.Join(cpu, "; "), note), goalCPU, cmd},
			headlineRow{"p99 at equal rate, syncgate ÷ " + peer, fmt.Sprintf("worst %.2f× (%s)", worstP99, strings.Join(p99, "; ")), goalP99, cmd})
	}
	return rows
}

func maxRateRows(run Run) []headlineRow {
	if len(run.MaxRate) == 0 {
		return nil
	}
	ms := MaxRates(run.MaxRate)
	sg, sgOpen, n := MaxRateMedian(ms, "syncgate")
	if n == 0 {
		return nil
	}
	cmd := run.Repro["maxrate"]
	var rows []headlineRow
	open := func(o bool) string {
		if o {
			return "≥ "
		}
		return ""
	}
	rows = append(rows, headlineRow{"max deliveries/s kept up on one core, syncgate", open(sgOpen) + thousands(sg) + "/s", "—", cmd})
	for _, peer := range []string{"node", "centrifugo", "bare"} {
		pl, pOpen, pn := MaxRateMedian(ms, peer)
		if pn == 0 {
			continue
		}
		goal := "—"
		switch peer {
		case "node":
			goal = "≥ 6×"
		case "centrifugo":
			goal = "≥ 1×"
		}
		var val string
		switch {
		case pl == 0:
			val = "n/a (" + peer + " kept up with no step)"
		case !sgOpen && !pOpen:
			val = fmt.Sprintf("%.2f× (%s/s vs %s/s)", sg/pl, thousands(sg), thousands(pl))
		case sgOpen && !pOpen:
			val = fmt.Sprintf("≥ %.2f× (syncgate ≥ %s/s, its limit not found; %s %s/s)", sg/pl, thousands(sg), peer, thousands(pl))
		case !sgOpen && pOpen:
			val = fmt.Sprintf("≤ %.2f× (%s/s vs %s ≥ %s/s, its limit not found)", sg/pl, thousands(sg), peer, thousands(pl))
		default:
			val = fmt.Sprintf("no ratio: neither limit found (syncgate ≥ %s/s, %s ≥ %s/s; generator-bound or out of steps)", thousands(sg), peer, thousands(pl))
		}
		rows = append(rows, headlineRow{"max deliveries/s per core, syncgate ÷ " + peer, val, goal, cmd})
	}
	return rows
}

func idleRows(run Run) []headlineRow {
	if len(run.Idle) == 0 {
		return nil
	}
	sum := SummarizeIdle(run.Idle)
	get := func(sys string) *IdleSummary {
		for i := range sum {
			if sum[i].System == sys && sum[i].Transport == "websocket" {
				return &sum[i]
			}
		}
		return nil
	}
	sg := get("syncgate")
	if sg == nil {
		return nil
	}
	cmd := run.Repro["idle"]
	rows := []headlineRow{{"idle websocket RSS, syncgate", bytesStr(sg.RSSPerConn), "≤ 12 KiB", cmd}}
	for _, peer := range []string{"node", "centrifugo", "bare"} {
		if p := get(peer); p != nil && p.RSSPerConn > 0 {
			goal := "≤ 1×"
			if peer == "bare" {
				goal = "—"
			}
			rows = append(rows, headlineRow{"idle websocket RSS, syncgate ÷ " + peer,
				fmt.Sprintf("%.2f× (%s vs %s)", sg.RSSPerConn/p.RSSPerConn, bytesStr(sg.RSSPerConn), bytesStr(p.RSSPerConn)), goal, cmd})
		}
	}
	return rows
}

func proxyRows(run Run) []headlineRow {
	if len(run.Proxy) == 0 {
		return nil
	}
	sum := SummarizeProxy(run.Proxy)
	cmd := run.Repro["proxy"]
	var rows []headlineRow
	for _, s := range sum {
		if s.Target != "syncgate" {
			continue
		}
		ng := findProxy(sum, s.Method, s.Concurrency, "nginx")
		if ng == nil {
			continue
		}
		p50 := fmt.Sprintf("n/a: nginx added no p50 (%s vs %s)", signedDur(s.AddP50), signedDur(ng.AddP50))
		if ng.AddP50 > 0 {
			p50 = fmt.Sprintf("%.2f× (%s vs %s)", float64(s.AddP50)/float64(ng.AddP50), signedDur(s.AddP50), signedDur(ng.AddP50))
		}
		loss := fmt.Sprintf("n/a: nginx lost no throughput (%.1f%% vs %.1f%%)", 100*s.Loss, 100*ng.Loss)
		if ng.Loss > 0 {
			loss = fmt.Sprintf("%.2f× (%.1f%% vs %.1f%%)", s.Loss/ng.Loss, 100*s.Loss, 100*ng.Loss)
		}
		what := fmt.Sprintf("proxy %s, %d in flight: added p50, syncgate ÷ nginx", s.Method, s.Concurrency)
		rows = append(rows,
			headlineRow{what, p50, "≤ 1.2×", cmd},
			headlineRow{fmt.Sprintf("proxy %s, %d in flight: throughput loss, syncgate ÷ nginx", s.Method, s.Concurrency), loss, "≤ 1.2×", cmd})
	}
	return rows
}

func lossRow(run Run) []headlineRow {
	var lost, deliveries int64
	for _, r := range run.Rates {
		lost, deliveries = lost+r.Stats.Lost, deliveries+r.Stats.Received
	}
	for _, r := range run.MaxRate {
		lost, deliveries = lost+r.Stats.Lost, deliveries+r.Stats.Received
	}
	for _, r := range run.Fanout {
		lost, deliveries = lost+r.Stats.Lost, deliveries+r.Stats.Received
	}
	for _, r := range run.TwoNode {
		lost, deliveries = lost+r.Stats.Lost, deliveries+r.Stats.Received
	}
	if deliveries == 0 {
		return nil
	}
	return []headlineRow{{"events lost (all systems, all scenarios of this run)", fmt.Sprintf("%d of %s deliveries (lost: a 2xx mutation's event that never arrived before the wait ended)", lost, thousands(float64(deliveries))), "0", "go run ./cmd/syncbench all"}}
}
