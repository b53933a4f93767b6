package procstat

import (
	"errors"
	"os"
	"testing"
	"time"
)

func TestCPUGrowsWhileThisProcessWorks(t *testing.T) {
	before, err := CPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn at least 50 ms of CPU: well above the 10 ms resolution.
	deadline := time.Now().Add(5 * time.Second)
	x := 0
	for {
		for i := range 1_000_000 {
			x += i
		}
		now, err := CPU(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if now-before >= 50*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time did not grow by 50ms in 5s of busy loop (before %v, now %v, x %d)", before, now, x)
		}
	}
}

func TestRSSIsPlausible(t *testing.T) {
	rss, err := RSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1<<20 || rss > 4<<30 {
		t.Fatalf("RSS of the test binary = %d bytes, want between 1 MiB and 4 GiB", rss)
	}
}

func TestParseStatCPUWithHostileCommandName(t *testing.T) {
	// A process may name itself with spaces and ") " to shift naive field splitting.
	stat := "42 (evil) 1 2 3) S 1 42 42 0 -1 4194560 100 0 0 0 250 130 0 0 20 0 1 0 100 1000 50"
	got, err := parseStatCPU([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if want := 380 * clockTick; got != want {
		t.Fatalf("cpu = %v, want %v", got, want)
	}
}

func TestParseRejectsTruncatedFiles(t *testing.T) {
	if _, err := parseStatCPU([]byte("42 (x) S 1 2")); !errors.Is(err, ErrFormat) {
		t.Fatalf("short stat: err = %v, want ErrFormat", err)
	}
	if _, err := parseStatusKB([]byte("Name: x\nVmPeak: 10 kB\n"), "VmRSS:"); !errors.Is(err, ErrFormat) {
		t.Fatalf("no VmRSS: err = %v, want ErrFormat", err)
	}
	got, err := parseStatusKB([]byte("Name: x\nVmRSS:\t  2048 kB\n"), "VmRSS:")
	if err != nil || got != 2048*1024 {
		t.Fatalf("VmRSS = %d, %v; want %d", got, err, 2048*1024)
	}
}

func TestCoresSumsTheNamedCPUsBusyAndTotal(t *testing.T) {
	stat := []byte("cpu  10 0 10 80 0 0 0 0 0 0\ncpu0 5 0 5 40 0 0 0 0 0 0\ncpu1 5 0 5 30 10 0 0 0 3 0\nintr 1\n")
	c1, err := parseCores(stat, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	if c1.Busy != 10 || c1.Total != 50 {
		t.Fatalf("cpu1 = %+v, want busy 10 of 50 (iowait idle, guest not counted twice)", c1)
	}
	all, err := parseCores(stat, nil)
	if err != nil || all.Busy != 20 || all.Total != 100 {
		t.Fatalf("all = %+v, %v; want busy 20 of 100", all, err)
	}
	if _, err := parseCores(stat, []int{7}); err == nil {
		t.Fatal("a missing cpu7 line was not reported")
	}
	if got := (CoreTimes{Busy: 30, Total: 100}).BusySince(CoreTimes{Busy: 10, Total: 60}); got != 0.5 {
		t.Fatalf("BusySince = %v, want 0.5", got)
	}
}

func TestTreeCPUCountsChildren(t *testing.T) {
	// This test binary's own tree: no children, so the tree is the process itself.
	own, err := CPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	tree, err := TreeCPU(os.Getpid())
	if err != nil || tree < own {
		t.Fatalf("tree CPU %v (%v) < own %v", tree, err, own)
	}
	if pp, ok := parseParent([]byte("12 (a) b) S 7 12 12 0")); !ok || pp != 7 {
		t.Fatalf("parent = %d, %v; want 7", pp, ok)
	}
}
