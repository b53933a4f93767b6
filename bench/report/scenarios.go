package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/syncgate/syncgate/bench/scenario"
)

func writeStorm(b *strings.Builder, rs []scenario.StormResult) {
	b.WriteString("\n## Connect storm: N websocket sockets of U users connecting to /org/1 at once\n\n")
	b.WriteString("The fake upstream answers every membership call after a fixed delay and counts the calls. ")
	b.WriteString("Admission: from the CONNECT packet's send to its answer. Hanging: CONNECT sent, no answer before the per-socket timeout. ")
	b.WriteString("Target: membership calls ≤ distinct users, 0 hanging. The bare peer has no admission (n/a).\n\n")
	b.WriteString("| sockets | users | membership delay | system | rep | connects/s | membership calls | calls ≤ users | admission p50 | p99 | max | admitted | refused | hanging | failed | alive after | concurrency | load before |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		rep := r.Report
		fmt.Fprintf(b, "| %d | %d | %s | %s | %d | %s | %d | %s | %s | %s | %s | %d | %d | %d | %d | %d | %d | %s |\n",
			r.Sockets, r.Users, dur(r.Delay), r.System, r.Rep, thousands(r.ConnectsPerSec()), r.MembershipCalls, yesNo(r.CallsWithinUsers()),
			dur(rep.AdmitPercentile(.5)), dur(rep.AdmitPercentile(.99)), dur(rep.AdmitPercentile(1)),
			rep.Admitted, rep.Refused, rep.Hanging, rep.Failed, r.Alive, r.Concurrency, r.LoadAvg)
	}
	for _, r := range rs {
		if r.Report.FirstErr != nil {
			fmt.Fprintf(b, "\n%s rep %d, first failure: `%v`\n", r.System, r.Rep, r.Report.FirstErr)
		}
	}
}

func writeProxy(b *strings.Builder, rs []scenario.ProxyResult, cmd string) {
	b.WriteString("\n## Proxy overhead: the same client straight to the fake upstream, through syncgate's /api, nginx and Go's httputil.ReverseProxy\n\n")
	b.WriteString("`GET` and `PUT /orgs/1/people/views/1/rows/{i}` (the PUT fires syncgate's trigger: a publish to /org/1, which has no sockets), ")
	b.WriteString("a fixed number of requests kept in flight at once, the same client and concurrency for every target. nginx (Debian): `worker_processes auto`, ")
	b.WriteString("HTTP/1.1 upstream keep-alive 256, no access log. goproxy: httputil.ReverseProxy, 256 idle upstream connections. ")
	b.WriteString("Loss and added latency are against direct at the same method and concurrency. Goal: syncgate's added p50 and loss ≤ 1.2 × nginx's.")
	if cmd != "" {
		fmt.Fprintf(b, " Reproduce: `%s`.", cmd)
	}
	b.WriteString("\n\n### Medians\n\n| method | in flight | target | requests/s | p50 | p99 | throughput loss | added p50 | added p99 | failed | reps |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range SummarizeProxy(rs) {
		loss, a50, a99 := "—", "—", "—"
		if s.Target != "direct" {
			loss, a50, a99 = fmt.Sprintf("%.1f%%", 100*s.Loss), signedDur(s.AddP50), signedDur(s.AddP99)
		}
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %d | %d |\n", s.Method, s.Concurrency, s.Target, thousands(s.PerSec),
			dur(s.P50), dur(s.P99), loss, a50, a99, s.Failed, s.Reps)
	}
	b.WriteString("\n### Every repetition\n\n| method | in flight | target | rep | requests/s | p50 | p99 | max | throughput loss | added p50 | added p99 | failed | load before |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		loss, a50, a99 := "—", "—", "—"
		if d := directOf(rs, r); d != nil && r.Target != "direct" {
			l, d50, d99 := scenario.Overhead(*d, r)
			loss, a50, a99 = fmt.Sprintf("%.1f%%", 100*l), signedDur(d50), signedDur(d99)
		}
		fmt.Fprintf(b, "| %s | %d | %s | %d | %s | %s | %s | %s | %s | %s | %s | %d | %s |\n",
			r.Method, r.Concurrency, r.Target, r.Rep, thousands(r.PerSec()), dur(r.Percentile(.5)), dur(r.Percentile(.99)), dur(r.Percentile(1)),
			loss, a50, a99, r.Failed, r.LoadAvg)
	}
}

// directOf finds the direct run of r's method, concurrency and repetition.
func directOf(rs []scenario.ProxyResult, r scenario.ProxyResult) *scenario.ProxyResult {
	for i := range rs {
		if rs[i].Target == "direct" && rs[i].Method == r.Method && rs[i].Concurrency == r.Concurrency && rs[i].Rep == r.Rep {
			return &rs[i]
		}
	}
	return nil
}

func writeTwoNode(b *strings.Builder, rs []scenario.TwoNodeResult) {
	b.WriteString("\n## Two nodes through one redis-server\n\n")
	b.WriteString("N websocket sockets in O orgs; within every org the sockets alternate between the two nodes. Mutations at a fixed rate, ")
	b.WriteString("consecutive ones through alternate nodes and cycling through the orgs, so most deliveries cross Redis. ")
	b.WriteString("Latency: PUT sent → event at the socket. Target: zero losses.\n\n")
	b.WriteString("| sockets | orgs | mutations/s × s | system | rep | deliveries | p50 | p99 | max | lost | sockets with loss | dups | disconnected | send failures | send behind | connect | load before |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		st := r.Stats
		fmt.Fprintf(b, "| %d | %d | %s × %.0f | %s | %d | %s | %s | %s | %s | %d | %d | %d | %d | %d | %s | %s | %s |\n",
			r.Sockets, r.Orgs, rate(r.Rate), r.Duration.Seconds(), r.System, r.Rep, thousands(float64(st.Received)),
			dur(st.Percentile(.5)), dur(st.Percentile(.99)), dur(st.Percentile(1)), st.Lost, st.SocketsWithLoss, st.Dups,
			st.Disconnected, r.Send.Failed, dur(r.Send.Behind), dur(r.Connect), r.LoadAvg)
	}
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// signedDur is dur with a sign for negative differences.
func signedDur(d time.Duration) string {
	us := d.Microseconds()
	if us < 0 {
		return "−" + durUS(-us)
	}
	return "+" + durUS(us)
}

func durUS(us int64) string {
	if us < 1000 {
		return fmt.Sprintf("%dµs", us)
	}
	return fmt.Sprintf("%.2fms", float64(us)/1000)
}
