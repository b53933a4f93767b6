package report

import (
	"cmp"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/syncgate/syncgate/bench/scenario"
)

// Run is everything one `syncbench` invocation measured.
type Run struct {
	Started time.Time
	Command string
	Source  string // the commit measured, e.g. "abc1234 (+ uncommitted changes)"
	Machine Machine
	Fanout  []scenario.FanoutResult
	Idle    []scenario.IdleResult
	Profile *scenario.ProfileResult
	Storm   []scenario.StormResult
	Proxy   []scenario.ProxyResult
	TwoNode []scenario.TwoNodeResult
	Rates   []scenario.RateStep // equal-rate sweep
	MaxRate []scenario.RateStep // max-rate ramps, server pinned
	Notes   []string
	// Repro holds, per scenario ("rates", "maxrate", "idle", "proxy", "fanout"), the command
	// that reproduces it alone; the headline table cites it.
	Repro map[string]string
}

// Machine describes where the run happened.
type Machine struct {
	CPU, Kernel, Go, Node, SocketIO string
	Cores                           int
	MemGiB                          float64
	LoadBefore, LoadAfter           string
}

// DescribeMachine reads the machine's description from /proc and the tools' versions.
func DescribeMachine(socketIOVersion string) Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), SocketIO: socketIOVersion, LoadBefore: scenario.LoadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				var kb float64
				for _, f := range strings.Fields(v) {
					if n, err := parseFloat(f); err == nil {
						kb = n
						break
					}
				}
				m.MemGiB = kb / (1 << 20)
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("node", "--version").Output(); err == nil {
		m.Node = strings.TrimSpace(string(out))
	}
	return m
}

// group is the results of one scenario size for one system, over repetitions.
type key struct {
	a, b int // sockets, events (fan-out) or sockets, 0 (idle)
	t    string
}

// median returns the median of xs (the mean of the middle two for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// systemOrder puts syncgate first, then node, then bare, then anything else.
func systemOrder(a, b string) int {
	rank := func(s string) int {
		switch s {
		case "syncgate":
			return 0
		case "syncgate-inproc":
			return 1
		case "node":
			return 2
		case "node-cluster":
			return 3
		case "centrifugo":
			return 4
		case "bare":
			return 5
		}
		return 6
	}
	return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a, b))
}

// DescribeSource names the commit of the repository at root, and whether the work tree had
// changes (read-only git commands).
func DescribeSource(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown (not a git work tree)"
	}
	src := "commit " + strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "-C", root, "status", "--porcelain").Output(); err == nil && len(st) > 0 {
		src += " (+ uncommitted changes)"
	}
	return src
}
