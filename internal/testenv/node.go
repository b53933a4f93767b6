package testenv

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// DefaultTimeout is the timeout of a wait or command given a zero timeout.
const DefaultTimeout = 10 * time.Second

// ErrTimeout is wrapped by errors of waits and commands that timed out.
var ErrTimeout = errors.New("timeout")

// ErrDriverExited is wrapped by errors of commands and waits that could not
// complete because the Node process is gone.
var ErrDriverExited = errors.New("node driver exited")

// Node is a running test/node/driver.js: the official socket.io-client v4
// driven over JSON lines. Sockets are named by the test; every notification
// the driver sends (server events, disconnects, reconnects, connect errors,
// transport upgrades) is queued per socket name in arrival order.
//
// Methods are safe for concurrent use. The methods that return no error
// (OnAck, Disconnect, Close, CloseAll) fail the test with t.Fatalf, so call
// them from the test's goroutine.
type Node struct {
	t     testing.TB
	proc  *proc
	stdin io.WriteCloser

	writeMu sync.Mutex

	mu       sync.Mutex
	nextID   int64
	pending  map[int64]chan []byte
	logs     map[string]*socketLog
	seq      int
	changed  chan struct{} // closed and replaced whenever a notification arrives
	readDone chan struct{} // closed when the driver's stdout ends
	readErr  error
}

// StartNode starts `node test/node/driver.js` and stops it on t.Cleanup,
// logging its stderr if the test failed.
func StartNode(t testing.TB) *Node {
	t.Helper()
	root := RepoRoot(t)
	dir := filepath.Join(root, "test", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "socket.io-client")); err != nil {
		t.Fatalf("testenv: %s has no node_modules/socket.io-client (%v): run ./scripts/test.sh, which runs npm ci there", dir, err)
	}
	bin, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("testenv: node not found on PATH (%v): run ./scripts/test.sh, which installs it", err)
	}
	cmd := exec.Command(bin, "driver.js")
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("testenv: node stdin: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("testenv: node stdout: %v", err)
	}
	p, err := startProc(cmd)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	n := &Node{
		t:        t,
		proc:     p,
		stdin:    stdin,
		pending:  map[int64]chan []byte{},
		logs:     map[string]*socketLog{},
		changed:  make(chan struct{}),
		readDone: make(chan struct{}),
	}
	go n.readLoop(stdout)
	t.Cleanup(n.shutdown)
	return n
}

// Stderr returns what the driver wrote to stderr so far (its last 8 KiB).
func (n *Node) Stderr() string { return n.proc.out.String() }

// shutdown asks the driver to exit, kills it if it does not, and reports
// its stderr when the test failed.
func (n *Node) shutdown() {
	if n.proc.running() {
		_, _, _ = n.call(map[string]any{"op": "exit"}, 5*time.Second)
		_ = n.stdin.Close() // the driver also exits when its stdin ends
		n.proc.waitOrKill(5 * time.Second)
	}
	// Let the reader finish the last lines before the test is over: it may log.
	select {
	case <-n.readDone:
	case <-time.After(5 * time.Second):
	}
	if n.t.Failed() {
		if s := n.Stderr(); s != "" {
			n.t.Logf("testenv: node driver stderr:\n%s", s)
		}
	}
}

func (n *Node) readLoop(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		line := append([]byte(nil), sc.Bytes()...)
		var head struct {
			ID *int64 `json:"id"`
		}
		if err := json.Unmarshal(line, &head); err != nil {
			// Not JSON, or the answer to a line with a foreign id (written by a test).
			n.t.Logf("testenv: node driver line ignored (%v): %.200s", err, line)
			continue
		}
		if head.ID != nil {
			n.mu.Lock()
			ch := n.pending[*head.ID]
			delete(n.pending, *head.ID)
			n.mu.Unlock()
			if ch != nil {
				ch <- line
			}
			continue
		}
		n.notify(line)
	}
	n.mu.Lock()
	n.readErr = sc.Err()
	n.mu.Unlock()
	close(n.readDone)
}

// reply is the part every answer of the driver has.
type reply struct {
	OK    bool            `json:"ok"`
	Error string          `json:"error"`
	Data  json.RawMessage `json:"data"`
}

// call sends cmd (an "id" is added) and waits up to timeout for its answer.
// err is set only when no answer came; a refused command has rep.OK false.
func (n *Node) call(cmd map[string]any, timeout time.Duration) (raw []byte, rep reply, err error) {
	n.mu.Lock()
	n.nextID++
	id := n.nextID
	ch := make(chan []byte, 1)
	n.pending[id] = ch
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.pending, id)
		n.mu.Unlock()
	}()

	cmd["id"] = id
	line, err := json.Marshal(cmd)
	if err != nil {
		return nil, rep, fmt.Errorf("testenv: encode node command %v: %w", cmd["op"], err)
	}
	n.writeMu.Lock()
	_, err = n.stdin.Write(append(line, '\n'))
	n.writeMu.Unlock()
	if err != nil {
		return nil, rep, fmt.Errorf("testenv: send %v to node: %w (%w)%s", cmd["op"], err, ErrDriverExited, n.stderrNote())
	}

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case raw = <-ch:
	case <-n.readDone:
		select {
		case raw = <-ch:
		default:
			return nil, rep, fmt.Errorf("testenv: node command %s: %w%s", line, ErrDriverExited, n.stderrNote())
		}
	case <-timer.C:
		return nil, rep, fmt.Errorf("testenv: node command %s: no answer within %v: %w%s", line, timeout, ErrTimeout, n.stderrNote())
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		return nil, rep, fmt.Errorf("testenv: node answer %.200s: %w", raw, err)
	}
	return raw, rep, nil
}

// stderrNote is the driver's stderr formatted for an error message.
func (n *Node) stderrNote() string {
	s := n.Stderr()
	if s == "" {
		return ""
	}
	return "\nnode driver stderr:\n" + s
}
