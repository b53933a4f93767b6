package procstat

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
)

// TCPReceived reads, with iproute2's ss, the bytes each process has received on its
// established TCP connections to any of peerPorts on 127.0.0.1 (tcp_info's bytes_received,
// counted by the kernel: the same for any client library). It returns pid → local address →
// bytes.
func TCPReceived(peerPorts []int) (map[int]map[string]int64, error) {
	if len(peerPorts) == 0 {
		return map[int]map[string]int64{}, nil
	}
	var filter []string
	for _, p := range peerPorts {
		filter = append(filter, "dport = :"+strconv.Itoa(p))
	}
	out, err := exec.Command("ss", "-Htinp", "state", "established", "( "+strings.Join(filter, " or ")+" )").Output()
	if err != nil {
		return nil, fmt.Errorf("procstat: ss: %w", err)
	}
	return parseSS(out)
}

// parseSS reads `ss -Htinp state established` output: a socket line (Recv-Q Send-Q local peer
// users:(("name",pid=N,fd=F))) followed by an indented tcp_info line holding bytes_received.
func parseSS(out []byte) (map[int]map[string]int64, error) {
	res := map[int]map[string]int64{}
	var local string
	var pids []int
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			f := strings.Fields(line)
			if len(f) < 4 {
				return nil, fmt.Errorf("%w: ss line %q", ErrFormat, line)
			}
			local, pids = f[2], nil
			for _, part := range strings.Split(line, "pid=")[1:] {
				end := strings.IndexAny(part, ",)")
				if end < 0 {
					continue
				}
				if pid, err := strconv.Atoi(part[:end]); err == nil {
					pids = append(pids, pid)
				}
			}
			continue
		}
		i := strings.Index(line, "bytes_received:")
		if i < 0 || local == "" {
			continue // a connection that has received nothing yet
		}
		v := line[i+len("bytes_received:"):]
		if j := strings.IndexAny(v, " \t"); j >= 0 {
			v = v[:j]
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: bytes_received %q", ErrFormat, v)
		}
		for _, pid := range pids {
			if res[pid] == nil {
				res[pid] = map[string]int64{}
			}
			res[pid][local] = n
		}
	}
	return res, sc.Err()
}

// TCPMeter measures how many bytes processes received from some peer ports over an interval,
// connection by connection: Start, Sample now and then (a connection closed between two
// samples keeps its last reading), Stop, then Received per pid.
type TCPMeter struct {
	ports []int
	mu    sync.Mutex
	start map[int]map[string]int64
	last  map[int]map[string]int64
}

// NewTCPMeter measures connections to peerPorts (on any address).
func NewTCPMeter(peerPorts []int) *TCPMeter { return &TCPMeter{ports: peerPorts} }

// Start takes the baseline.
func (m *TCPMeter) Start() error {
	r, err := TCPReceived(m.ports)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.start, m.last = r, map[int]map[string]int64{}
	return nil
}

// Sample records the current readings.
func (m *TCPMeter) Sample() error {
	r, err := TCPReceived(m.ports)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for pid, conns := range r {
		if m.last[pid] == nil {
			m.last[pid] = map[string]int64{}
		}
		for c, n := range conns {
			m.last[pid][c] = n
		}
	}
	return nil
}

// Received returns the bytes pid received since Start over the sampled connections (a
// connection opened after Start counts from zero).
func (m *TCPMeter) Received(pid int) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for c, v := range m.last[pid] {
		n += v - m.start[pid][c]
	}
	return n
}
