package procstat

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat. It is 100 on every
// Linux architecture Go supports (the kernel exports a fixed USER_HZ to user space).
const clockTick = 10 * time.Millisecond

// ErrFormat reports a /proc file that does not have the expected layout.
var ErrFormat = errors.New("procstat: unexpected /proc format")

// CPU returns the user plus system CPU time the process has used so far, all its threads
// included (fields 14 and 15 of /proc/PID/stat). Its resolution is one clock tick, 10 ms.
func CPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("procstat: cpu of %d: %w", pid, err)
	}
	return parseStatCPU(b)
}

// parseStatCPU reads utime+stime from the text of /proc/PID/stat. The command name (field 2)
// may hold spaces and parentheses, so fields are counted from its last ')'.
func parseStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("%w: no ')' in stat", ErrFormat)
	}
	fields := bytes.Fields(b[i+1:])
	// fields[0] is field 3 (state); utime is field 14, stime field 15.
	const utime, stime = 14 - 3, 15 - 3
	if len(fields) <= stime {
		return 0, fmt.Errorf("%w: %d fields after the command name", ErrFormat, len(fields))
	}
	u, err1 := strconv.ParseInt(string(fields[utime]), 10, 64)
	s, err2 := strconv.ParseInt(string(fields[stime]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("%w: utime/stime: %v", ErrFormat, err)
	}
	return time.Duration(u+s) * clockTick, nil
}

// RSS returns the process's resident set size in bytes (VmRSS of /proc/PID/status).
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("procstat: rss of %d: %w", pid, err)
	}
	return parseStatusKB(b, "VmRSS:")
}

// parseStatusKB returns the value of a "Name:   123 kB" line of /proc/PID/status, in bytes.
func parseStatusKB(b []byte, name string) (int64, error) {
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte(name))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("%w: %s line %q", ErrFormat, name, line)
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: %s: %v", ErrFormat, name, err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("%w: no %s line", ErrFormat, name)
}

// Sample is a process's CPU time at one instant.
type Sample struct {
	Pid  int
	CPU  time.Duration
	Wall time.Time
	tree bool // CPU covers pid's descendants too (TakeTree)
}

// Take samples pid now.
func Take(pid int) (Sample, error) {
	c, err := CPU(pid)
	return Sample{Pid: pid, CPU: c, Wall: time.Now()}, err
}

// Since returns the CPU time pid used since s; the process must still be alive.
func (s Sample) Since() (time.Duration, error) {
	cpu := CPU
	if s.tree {
		cpu = TreeCPU
	}
	c, err := cpu(s.Pid)
	if err != nil {
		return 0, err
	}
	return c - s.CPU, nil
}
