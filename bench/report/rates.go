package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/syncgate/syncgate/bench/scenario"
)

// RateSummary is one system at one offered rate, over the run's repetitions.
type RateSummary struct {
	System                 string
	Offered                float64
	Reps, KeptReps, GenBnd int
	CPUPerDel              float64 // medians from here on
	P50, P99, Max, LagP99  time.Duration
	Share                  float64 // delivered in time ÷ offered
	GenCPU, ServerCPU      float64 // % of one core
	GenCoreBusy            float64 // -1: not pinned
	Sent, Failed, Late     int     // summed over repetitions
	Lost, Undelivered      int64
}

// KeptUp: the system kept up in every repetition.
func (s RateSummary) KeptUp() bool { return s.Reps > 0 && s.KeptReps == s.Reps }

// SummarizeRates returns one summary per (system, offered rate), systems in the usual order.
func SummarizeRates(rs []scenario.RateStep) []RateSummary {
	type k struct {
		sys  string
		rate float64
	}
	groups := map[k][]scenario.RateStep{}
	var keys []k
	for _, r := range rs {
		kk := k{r.System, r.Offered}
		if _, ok := groups[kk]; !ok {
			keys = append(keys, kk)
		}
		groups[kk] = append(groups[kk], r)
	}
	slices.SortFunc(keys, func(a, b k) int { return cmp.Or(systemOrder(a.sys, b.sys), cmp.Compare(a.rate, b.rate)) })
	var out []RateSummary
	for _, kk := range keys {
		g := groups[kk]
		s := RateSummary{System: kk.sys, Offered: kk.rate, Reps: len(g)}
		var cpu, p50, p99, mx, lag, share, gen, srv, busy []float64
		for _, r := range g {
			if r.KeptUp() {
				s.KeptReps++
			}
			if r.GeneratorBound() {
				s.GenBnd++
			}
			cpu = append(cpu, r.CPUPerDelivery())
			p50 = append(p50, float64(r.Stats.Percentile(.5)))
			p99 = append(p99, float64(r.Stats.Percentile(.99)))
			mx = append(mx, float64(r.Stats.Percentile(1)))
			lag = append(lag, float64(r.Send.LagPercentile(.99)))
			share = append(share, r.DeliveredShare())
			gen = append(gen, r.GenCPUPercent())
			srv = append(srv, r.ServerCPUPercent())
			busy = append(busy, r.GenCoreBusy)
			s.Sent += r.Send.Sent
			s.Failed += r.Send.Failed
			s.Late += r.Send.Late
			s.Lost += r.Stats.Lost
			s.Undelivered += r.Undelivered()
		}
		s.CPUPerDel, s.Share, s.GenCPU, s.ServerCPU, s.GenCoreBusy = median(cpu), median(share), median(gen), median(srv), median(busy)
		s.P50, s.P99, s.Max, s.LagP99 = time.Duration(median(p50)), time.Duration(median(p99)), time.Duration(median(mx)), time.Duration(median(lag))
		out = append(out, s)
	}
	return out
}

func findRate(sum []RateSummary, system string, offered float64) *RateSummary {
	for i := range sum {
		if sum[i].System == system && sum[i].Offered == offered {
			return &sum[i]
		}
	}
	return nil
}

func keptWord(s RateSummary) string {
	switch {
	case s.KeptUp():
		return "yes"
	case s.KeptReps == 0:
		return "**did not keep up**"
	default:
		return fmt.Sprintf("**did not keep up** (%d of %d reps did)", s.KeptReps, s.Reps)
	}
}

func writeRates(b *strings.Builder, rs []scenario.RateStep, cmd string) {
	b.WriteString("\n## Equal offered rates (open loop)\n\n")
	b.WriteString("Every system gets the same offered rates: `deliveries/s = events/s × sockets`, the events sent on a fixed schedule, each on its own request ")
	b.WriteString("(no cap on requests in flight; a send more than 5 ms behind schedule is counted late, and the generator's schedule lag is reported). ")
	b.WriteString("CPU: utime+stime of the server (all its processes) over first send → end of the wait, ÷ distinct deliveries. ")
	b.WriteString("Kept up: ≥ 95% of the offered deliveries arrived within the drain time after the last send and p99 ≤ 100 ms; a system that did not keep up is reported as such at that rate, with its figures, and is left out of the ratios. Servers are not pinned.")
	if cmd != "" {
		fmt.Fprintf(b, " Reproduce: `%s`.", cmd)
	}
	b.WriteString("\n\n### Medians\n\n")
	b.WriteString("| offered deliveries/s | system | kept up | server CPU µs/delivery | syncgate ÷ this, CPU | p50 | p99 | max | delivered in time | failed mutations | lost | server CPU % | generator CPU % | generator lag p99 | late sends | generator-bound reps | reps |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	sum := SummarizeRates(rs)
	byRate := slices.Clone(sum)
	slices.SortStableFunc(byRate, func(x, y RateSummary) int { return cmp.Compare(x.Offered, y.Offered) })
	for _, s := range byRate {
		rel := "—"
		if sg := findRate(sum, "syncgate", s.Offered); sg != nil && s.System != "syncgate" && s.KeptUp() && sg.KeptUp() && s.CPUPerDel > 0 {
			rel = fmt.Sprintf("%.2f×", sg.CPUPerDel/s.CPUPerDel)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %.2f | %s | %s | %s | %s | %.1f%% | %d of %d | %d | %.0f%% | %.0f%% | %s | %d | %d | %d |\n",
			thousands(s.Offered), s.System, keptWord(s), s.CPUPerDel, rel, dur(s.P50), dur(s.P99), dur(s.Max), 100*s.Share,
			s.Failed, s.Sent, s.Lost, s.ServerCPU, s.GenCPU, dur(s.LagP99), s.Late, s.GenBnd, s.Reps)
	}
	writeSteps(b, rs)
}

// writeSteps lists every step of every repetition.
func writeSteps(b *strings.Builder, rs []scenario.RateStep) {
	b.WriteString("\n### Every step\n\n")
	b.WriteString("| system | rep | offered/s | events/s × sockets | sent | failed | late | lag p99 | delivered in time | received | lost | undelivered | deliveries/s | p50 | p99 | max | server CPU s | µs/delivery | server CPU % | generator CPU % | generator CPUs busy | machine busy | kept up | generator-bound | load before |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		busy := "—"
		if r.GenCoreBusy >= 0 {
			busy = fmt.Sprintf("%.0f%%", 100*r.GenCoreBusy)
		}
		st := r.Stats
		fmt.Fprintf(b, "| %s | %d | %s | %s × %d | %d | %d | %d | %s | %.1f%% | %d | %d | %d | %s | %s | %s | %s | %.2f | %.2f | %.0f%% | %.0f%% | %s | %.0f%% | %s | %s | %s |\n",
			r.System, r.Rep, thousands(r.Offered), rate(r.EventsPerSec), r.Sockets, r.Send.Sent, r.Send.Failed, r.Send.Late, dur(r.Send.LagPercentile(.99)),
			100*r.DeliveredShare(), st.Received, st.Lost, r.Undelivered(), thousands(r.DeliveriesPerSec()),
			dur(st.Percentile(.5)), dur(st.Percentile(.99)), dur(st.Percentile(1)), r.ServerCPU.Seconds(), r.CPUPerDelivery(),
			r.ServerCPUPercent(), r.GenCPUPercent(), busy, 100*r.MachineBusy, yesNoPlain(r.KeptUp()), flagWord(r.GeneratorBound()), r.LoadAvg)
	}
	for _, r := range rs {
		if r.Send.FirstErr != nil {
			fmt.Fprintf(b, "\n%s rep %d at %s/s, first failed mutation: `%v`\n", r.System, r.Rep, thousands(r.Offered), r.Send.FirstErr)
		}
	}
}

func pct(share float64) string {
	if share < 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", 100*share)
}

func yesNoPlain(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

func flagWord(f bool) string {
	if f {
		return "**generator-bound**"
	}
	return "no"
}

// MaxRateResult is one ramp of one system: the highest offered rate it kept up with.
type MaxRateResult struct {
	System string
	Rep    int
	Limit  float64 // highest kept-up offered rate; 0: none
	AtLim  *scenario.RateStep
	// Open: the ramp did not find the server's limit: it ended on a generator-bound step
	// or ran out of steps while keeping up, so the limit is at least Limit.
	Open   bool
	Reason string
}

// MaxRates reads each ramp's limit.
func MaxRates(rs []scenario.RateStep) []MaxRateResult {
	var out []MaxRateResult
	for i := 0; i < len(rs); {
		j := i
		for j < len(rs) && rs[j].System == rs[i].System && rs[j].Rep == rs[i].Rep {
			j++
		}
		out = append(out, rampLimit(rs[i:j]))
		i = j
	}
	return out
}

func rampLimit(steps []scenario.RateStep) MaxRateResult {
	m := MaxRateResult{System: steps[0].System, Rep: steps[0].Rep}
	for i := range steps {
		s := &steps[i]
		if s.KeptUp() {
			m.Limit, m.AtLim = s.Offered, s
		}
		if s.GeneratorBound() {
			m.Open = true
			kept := "kept up"
			if !s.KeptUp() {
				kept = fmt.Sprintf("did not keep up (%.1f%% in time, p99 %s)", 100*s.DeliveredShare(), dur(s.Stats.Percentile(.99)))
			}
			m.Reason = fmt.Sprintf("generator-bound at %s/s (%s; generator lag p99 %s, its CPUs %s busy): not reported as the server's limit",
				thousands(s.Offered), kept, dur(s.Send.LagPercentile(.99)), pct(s.GenCoreBusy))
			return m
		}
		if !s.KeptUp() {
			m.Reason = fmt.Sprintf("did not keep up at %s/s (%.1f%% delivered in time, p99 %s)", thousands(s.Offered), 100*s.DeliveredShare(), dur(s.Stats.Percentile(.99)))
			return m
		}
	}
	m.Open = true
	m.Reason = "kept up at every step: raise --maxrate-steps"
	return m
}

// MaxRateMedian is the median limit of a system's ramps (0 when none kept up) and whether
// any ramp was open (limit not found).
func MaxRateMedian(ms []MaxRateResult, system string) (limit float64, open bool, n int) {
	var xs []float64
	for _, m := range ms {
		if m.System == system {
			xs = append(xs, m.Limit)
			open = open || m.Open
		}
	}
	return median(xs), open, len(xs)
}

func writeMaxRate(b *strings.Builder, rs []scenario.RateStep, cmd string) {
	b.WriteString("\n## Max throughput per core (open loop, server pinned)\n\n")
	pinned := ""
	if len(rs) > 0 {
		pinned = rs[0].ServerCPUs
	}
	fmt.Fprintf(b, "Each server runs under `taskset -c %s`; the generator (this process, every thread) and the fake upstream run on the other CPUs. ", pinned)
	b.WriteString("The offered rate is ramped in steps until the server does not keep up (≥ 95% delivered in time, p99 ≤ 100 ms). ")
	b.WriteString("The generator proves its headroom: its CPUs' busy share and its schedule lag are printed per step, and a step where its CPUs were ≥ 90% busy or its lag p99 > 10 ms is flagged generator-bound and ends the ramp without being reported as the server's limit.")
	if cmd != "" {
		fmt.Fprintf(b, " Reproduce: `%s`.", cmd)
	}
	b.WriteString("\n\n| system | rep | highest rate kept up | CPU µs/delivery there | p99 there | server CPU % there | generator CPUs busy there | ended because |\n|---|---|---|---|---|---|---|---|\n")
	for _, m := range MaxRates(rs) {
		lim, cpu, p99, srv, busy := "none", "—", "—", "—", "—"
		if m.AtLim != nil {
			lim = thousands(m.Limit) + "/s"
			if m.Open {
				lim = "≥ " + lim
			}
			cpu, p99 = fmt.Sprintf("%.2f", m.AtLim.CPUPerDelivery()), dur(m.AtLim.Stats.Percentile(.99))
			srv, busy = fmt.Sprintf("%.0f%%", m.AtLim.ServerCPUPercent()), fmt.Sprintf("%.0f%%", 100*m.AtLim.GenCoreBusy)
		}
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s | %s |\n", m.System, m.Rep, lim, cpu, p99, srv, busy, m.Reason)
	}
	writeSteps(b, rs)
}
