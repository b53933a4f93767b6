package report

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/bench/loadgen"
	"github.com/syncgate/syncgate/bench/scenario"
)

// rstep is a step of sys at offered deliveries/s with 100 sockets: kept decides whether
// every offered delivery arrived in time, cpu is µs per delivery, p99 the latency.
func rstep(sys string, offered float64, kept bool, cpuUS float64, p99 time.Duration, busy float64) scenario.RateStep {
	sent := int(offered / 100)
	recv := int64(sent * 100)
	in := recv
	if !kept {
		in = recv / 2
	}
	return scenario.RateStep{
		System: sys, Sockets: 100, Offered: offered, Events: sent, Rep: 1, Drain: time.Second,
		Send:  loadgen.OpenResult{Sent: sent, OK: sent, Lag: []time.Duration{time.Millisecond}},
		Stats: loadgen.PhaseStats{Received: recv, Latencies: []uint32{uint32(p99.Microseconds())}}, InTime: in,
		ServerCPU: time.Duration(cpuUS*float64(recv)) * time.Microsecond, Window: time.Second, GenCoreBusy: busy,
	}
}

func TestEqualRateRatiosLeaveOutRatesAPeerDidNotKeepUpWith(t *testing.T) {
	run := Run{Repro: map[string]string{"rates": "go run ./cmd/syncbench rates"}, Rates: []scenario.RateStep{
		rstep("syncgate", 5000, true, 10, 5*time.Millisecond, -1),
		rstep("syncgate", 50000, true, 8, 9*time.Millisecond, -1),
		rstep("node", 5000, true, 20, 10*time.Millisecond, -1),
		rstep("node", 50000, false, 15, 3*time.Second, -1),
	}}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, run, nil); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"## Headline", "worst 0.50× (0.50× at 5,000)", // CPU ratio at the only rate node kept up with
		"| 50,000 | node | **did not keep up** |", "`go run ./cmd/syncbench rates`", "| 5,000 | node | yes | 20.00 | 0.50× |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if strings.Contains(md, "0.53× at 50,000") {
		t.Error("a rate node did not keep up with was used in a ratio")
	}
}

func TestMaxRateIsTheLastKeptUpStepUnlessTheGeneratorWasTheLimit(t *testing.T) {
	steps := []scenario.RateStep{
		rstep("syncgate", 10000, true, 5, time.Millisecond, 0.3),
		rstep("syncgate", 20000, true, 5, time.Millisecond, 0.5),
		rstep("syncgate", 40000, false, 5, time.Millisecond, 0.6),
		rstep("node", 10000, true, 5, time.Millisecond, 0.3),
		rstep("node", 20000, false, 5, time.Millisecond, 0.95), // the generator's CPU was full
	}
	for i := range steps {
		steps[i].ServerCPUs = "0"
	}
	ms := MaxRates(steps)
	if len(ms) != 2 || ms[0].Limit != 20000 || ms[0].Open || ms[1].Limit != 10000 || !ms[1].Open {
		t.Fatalf("limits = %+v, want syncgate 20000 (found), node ≥ 10000 (generator-bound)", ms)
	}
	run := Run{MaxRate: steps, Repro: map[string]string{"maxrate": "go run ./cmd/syncbench maxrate"}}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, run, nil); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"≤ 2.00× (20,000/s vs node ≥ 10,000/s", "generator-bound at 20,000/s (did not keep up (50.0% in time, p99 1.0ms); generator lag p99 1.0ms, its CPUs 95% busy): not reported as the server's limit", "taskset -c 0"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}

func TestRateChartsArePNGs(t *testing.T) {
	run := Run{Rates: []scenario.RateStep{
		rstep("syncgate", 5000, true, 10, 5*time.Millisecond, -1), rstep("syncgate", 20000, true, 8, 6*time.Millisecond, -1),
		rstep("centrifugo", 5000, true, 12, 7*time.Millisecond, -1), rstep("centrifugo", 20000, false, 9, 2*time.Second, -1),
	}}
	dir := t.TempDir()
	files, err := Charts(run, dir, "x")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0] != "x-rates-cpu.png" || files[1] != "x-rates-p99.png" {
		t.Fatalf("files = %v", files)
	}
	for _, f := range files {
		fh, err := os.Open(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(fh); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		fh.Close()
	}
}

func TestProxyHeadlineComparesSyncgateWithNginx(t *testing.T) {
	lat := func(us int) []time.Duration { return []time.Duration{time.Duration(us) * time.Microsecond} }
	rs := []scenario.ProxyResult{
		{Method: "GET", Target: "direct", Concurrency: 1, Rep: 1, OK: 1000, Elapsed: time.Second, Lat: lat(100)},
		{Method: "GET", Target: "syncgate", Concurrency: 1, Rep: 1, OK: 600, Elapsed: time.Second, Lat: lat(300)},
		{Method: "GET", Target: "nginx", Concurrency: 1, Rep: 1, OK: 800, Elapsed: time.Second, Lat: lat(200)},
	}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, Run{Proxy: rs}, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"added p50, syncgate ÷ nginx | 2.00× (+200µs vs +100µs)", "throughput loss, syncgate ÷ nginx | 2.00× (40.0% vs 20.0%)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}
