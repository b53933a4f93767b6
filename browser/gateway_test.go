package browser_test

import (
	"bufio"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// gateway is the real syncgate binary in --demo mode, which can be stopped with SIGTERM and
// started again on the same port.
type gateway struct {
	t    *testing.T
	port string
	url  string

	cmd    *exec.Cmd
	exited chan struct{}

	mu  sync.Mutex
	log strings.Builder
}

var listeningLine = regexp.MustCompile(`msg="syncgate listening" addr=127\.0\.0\.1:(\d+)`)

// startGateway starts syncgate --demo on a free loopback port; it is killed on cleanup.
func startGateway(t *testing.T) *gateway {
	t.Helper()
	g := &gateway{t: t}
	t.Cleanup(func() {
		if g.cmd != nil && g.running() {
			_ = g.cmd.Process.Kill()
			<-g.exited
		}
		if t.Failed() {
			t.Logf("syncgate log:\n%s", g.output())
		}
	})
	g.start("0")
	return g
}

func (g *gateway) running() bool {
	select {
	case <-g.exited:
		return false
	default:
		return true
	}
}

func (g *gateway) output() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.log.String()
}

// start runs the binary on port ("0": any) and waits until it serves.
func (g *gateway) start(port string) {
	g.t.Helper()
	cmd := exec.Command(binPath, "--demo", "--listen", "127.0.0.1:"+port, "--admin-listen", "127.0.0.1:0")
	cmd.Env = cleanEnv()
	cmd.SysProcAttr = childAttr()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		g.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		g.t.Fatalf("start syncgate: %v", err)
	}
	g.cmd, g.exited = cmd, make(chan struct{})
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			g.mu.Lock()
			fmt.Fprintln(&g.log, line)
			g.mu.Unlock()
			if m := listeningLine.FindStringSubmatch(line); m != nil {
				select {
				case listening <- m[1]:
				default:
				}
			}
		}
		_ = cmd.Wait()
		close(g.exited)
	}()
	select {
	case p := <-listening:
		g.port, g.url = p, "http://127.0.0.1:"+p
	case <-g.exited:
		g.t.Fatalf("syncgate exited before listening:\n%s", g.output())
	case <-time.After(30 * time.Second):
		g.t.Fatalf("syncgate did not listen within 30s:\n%s", g.output())
	}
}

// stop sends SIGTERM and waits for the process to end (a graceful shutdown).
func (g *gateway) stop() {
	g.t.Helper()
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		g.t.Fatalf("SIGTERM syncgate: %v", err)
	}
	select {
	case <-g.exited:
	case <-time.After(30 * time.Second):
		g.t.Fatalf("syncgate did not exit within 30s of SIGTERM:\n%s", g.output())
	}
}

// restart starts the binary again on the port it had.
func (g *gateway) restart() { g.start(g.port) }
