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
