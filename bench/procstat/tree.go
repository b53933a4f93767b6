package procstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// TreeCPU returns the CPU time used so far by pid and every live descendant of it: a system
// made of several processes (Node's cluster primary and workers, the Centrifugo relay and
// its server) is measured as one.
func TreeCPU(pid int) (time.Duration, error) {
	total, err := CPU(pid)
	if err != nil {
		return 0, err
	}
	for _, c := range descendants(pid) {
		if d, err := CPU(c); err == nil { // a child may exit between the scan and the read
			total += d
		}
	}
	return total, nil
}

// descendants lists the live descendants of pid, from the parent field of /proc/*/stat.
func descendants(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if pp, ok := parseParent(b); ok {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// parseParent reads field 4 (ppid) of /proc/PID/stat.
func parseParent(b []byte) (int, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	pp, err := strconv.Atoi(string(f[1]))
	return pp, err == nil
}

// TakeTree samples the CPU of pid's process tree now.
func TakeTree(pid int) (Sample, error) {
	c, err := TreeCPU(pid)
	return Sample{Pid: pid, CPU: c, Wall: time.Now(), tree: true}, err
}

// CoreTimes are the busy and total jiffies of some CPUs (from /proc/stat).
type CoreTimes struct{ Busy, Total int64 }

// Cores reads the summed times of the given CPUs (cpuN lines of /proc/stat); no CPUs: all.
func Cores(cpus []int) (CoreTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return CoreTimes{}, fmt.Errorf("procstat: %w", err)
	}
	return parseCores(b, cpus)
}

func parseCores(b []byte, cpus []int) (CoreTimes, error) {
	want := map[string]bool{}
	for _, c := range cpus {
		want["cpu"+strconv.Itoa(c)] = true
	}
	var t CoreTimes
	found := 0
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		if (len(cpus) == 0 && f[0] != "cpu") || (len(cpus) > 0 && !want[f[0]]) {
			continue
		}
		found++
		for i, v := range f[1:] {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return t, fmt.Errorf("%w: %s", ErrFormat, line)
			}
			if i >= 8 { // guest times are already counted in user and nice
				break
			}
			t.Total += n
			if i != 3 && i != 4 { // idle, iowait
				t.Busy += n
			}
		}
	}
	if found == 0 {
		return t, fmt.Errorf("%w: no cpu line for %v", ErrFormat, cpus)
	}
	return t, nil
}

// BusySince is the share (0..1) of the CPUs' time that was busy since before.
func (t CoreTimes) BusySince(before CoreTimes) float64 {
	if d := t.Total - before.Total; d > 0 {
		return float64(t.Busy-before.Busy) / float64(d)
	}
	return 0
}
