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

func fan(system string, rep int, received int64, cpu, elapsed time.Duration, lost int64) scenario.FanoutResult {
	return scenario.FanoutResult{
		System: system, Sockets: 1000, Events: 1000, Rate: 500, Rep: rep,
		Stats:     loadgen.PhaseStats{Received: received, Expected: received + lost, Lost: lost, Latencies: []uint32{1000, 2000, 3000}},
		ServerCPU: cpu, Elapsed: elapsed,
	}
}

func sampleRun() Run {
	return Run{
		Started: time.Date(2025, 1, 2, 3, 4, 0, 0, time.UTC),
		Command: "go run ./cmd/syncbench all",
		Fanout: []scenario.FanoutResult{
			fan("syncgate", 1, 1_000_000, 1*time.Second, 2*time.Second, 0),
			fan("syncgate", 2, 1_000_000, 3*time.Second, 4*time.Second, 0),
			fan("syncgate", 3, 1_000_000, 2*time.Second, 3*time.Second, 0),
			fan("node", 1, 1_000_000, 4*time.Second, 4*time.Second, 7),
			fan("bare", 1, 1_000_000, 1*time.Second, 2*time.Second, 0),
		},
		Idle: []scenario.IdleResult{
			{System: "syncgate", Transport: "websocket", Sockets: 100, RSSBefore: 0, RSSAfter: 1_000_000, HeapBefore: -1, HeapAfter: -1},
			{System: "node", Transport: "websocket", Sockets: 100, RSSBefore: 0, RSSAfter: 2_000_000, HeapBefore: 0, HeapAfter: 500_000},
		},
	}
}

func TestSummaryTakesMediansAndSumsLosses(t *testing.T) {
	sum := SummarizeFanout(sampleRun().Fanout)
	if len(sum) != 3 || sum[0].System != "syncgate" || sum[1].System != "node" || sum[2].System != "bare" {
		t.Fatalf("summary order = %+v", sum)
	}
	sg := sum[0]
	// Rep CPU 1, 3, 2 s per million deliveries: median 2 µs per delivery; 1M over 3 s.
	if sg.CPUPerDel != 2 || int(sg.DeliveriesPerSec) != 333333 || sg.Reps != 3 {
		t.Fatalf("syncgate summary = %+v", sg)
	}
	if sum[1].Lost != 7 {
		t.Fatalf("node losses = %d, want 7", sum[1].Lost)
	}
}

func TestMarkdownHasRatiosAndEveryRow(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, sampleRun(), []string{"x-fanout-cpu.png"}); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"| 1000 × 1000 | 500 | syncgate | 333,333 | 2.0ms |", // median row
		"| 0.50× | 2.00× |", // syncgate CPU vs node (4) and bare (1)
		"| websocket | 100 | node | 19.5 KiB | 4.9 KiB | 1 |",
		"![x-fanout-cpu](x-fanout-cpu.png)",
		"`go run ./cmd/syncbench all`",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if got := strings.Count(md, "| 1000 × 1000 | syncgate |"); got != 3 {
		t.Errorf("%d syncgate repetition rows, want 3", got)
	}
}

func TestChartsArePNGs(t *testing.T) {
	dir := t.TempDir()
	files, err := Charts(sampleRun(), dir, "run")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 5 {
		t.Fatalf("charts %v, want 4 fan-out charts and 1 idle chart", files)
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
