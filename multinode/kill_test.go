package multinode

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/examples"
	"github.com/syncgate/syncgate/internal/testenv"
)

// binaryNode is the real syncgate binary, built into the test's temporary directory and
// started with args; it is killed at the end of the test. It returns the process and a
// node to talk to it (no in-process gateway: n.g is nil).
func binaryNode(t *testing.T, name string, args ...string) (*exec.Cmd, *node) {
	t.Helper()
	return binaryNodeTriggers(t, name, examples.ZetkinPoC(), args...)
}

// binaryNodeTriggers is binaryNode with a trigger file of the test's own.
func binaryNodeTriggers(t *testing.T, name string, triggerYAML []byte, args ...string) (*exec.Cmd, *node) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "syncgate")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/syncgate")
	build.Dir = testenv.RepoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/syncgate: %v\n%s", err, out)
	}
	trig := filepath.Join(dir, "zetkin-poc.yaml")
	if err := os.WriteFile(trig, triggerYAML, 0o644); err != nil {
		t.Fatal(err)
	}
	own := []string{"--listen", "127.0.0.1:0", "--admin-listen", "", "--triggers", trig, "--log-format", "json"}
	cmd := exec.Command(bin, append(own, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SYNCGATE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start syncgate: %v", err)
	}
	logs := &logBuffer{}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			_, _ = logs.Write(append(sc.Bytes(), '\n'))
			var l struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "syncgate listening" {
				select {
				case addr <- l.Addr:
				default:
				}
			}
		}
	}()
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("node %s (binary) log:\n%s", name, logs.String())
		}
	})
	select {
	case a := <-addr:
		return cmd, &node{t: t, name: name, addr: a, client: &http.Client{Timeout: waitLong,
			Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}}
	case <-exited:
		t.Fatalf("syncgate exited before listening:\n%s", logs.String())
	case <-time.After(waitLong):
		t.Fatalf("syncgate not listening after %v:\n%s", waitLong, logs.String())
	}
	return nil, nil
}

func TestNodeKilledMidStreamClientsMoveToOtherNode(t *testing.T) {
	api := members(t, 1)
	r := testenv.StartRedis(t)
	proc, a := binaryNode(t, "A", append([]string{"--upstream", api.URL()}, redisFlag(r.URL(), "A")...)...)
	b := startNode(t, api, "B", r.URL())
	a.waitReadyz(http.StatusOK)
	b.waitReadyz(http.StatusOK)
	c := testenv.StartNode(t)
	lb := startForwarder(t, a.addr)
	connect(t, c, "s", "http://"+lb.Addr()+"/org/1", reconnecting("alice"))
	connect(t, c, "w", b.url("/org/1"), once("alice")) // on the surviving node
	cols := map[string]*collector{"s": collect(c, "s", isEndMarker), "w": collect(c, "w", isEndMarker)}

	// A stream of mutations through B; A dies in the middle of it.
	st := startStream(b, 5*time.Millisecond, func(int) int { return 1 })
	st.waitMore(t, 20)
	lb.SetTarget(b.addr) // where the load balancer sends the client next
	if err := proc.Process.Kill(); err != nil {
		t.Fatalf("SIGKILL node A: %v", err)
	}
	rec := reconnected(t, c, "s")
	st.waitMore(t, 20)
	st.end(t)
	b.deleteRow(1, 0) // the end marker

	sent := st.sentTo(1)
	for _, name := range []string{"s", "w"} {
		tl, lost := account(t, st, sent, cols[name].wait(t))
		t.Logf("socket %s: %v", name, tl)
		if tl.Lost != 0 || tl.Duplicates != 0 || tl.Disorder != 0 {
			t.Errorf("socket %s: %v; lost %v", name, tl, lost)
		}
		if name == "w" && tl.Delivered != tl.Sent {
			t.Errorf("socket w on the surviving, mutating node: %v; want every event", tl)
		}
	}
	// The client came back on B: either it recovered (then it got everything, no resync)
	// or it was told to resync.
	tl, _ := account(t, st, sent, cols["s"].wait(t))
	if rec.Recovered && (tl.Delivered != tl.Sent || tl.Resyncs != 0) {
		t.Errorf("socket s recovered but: %v", tl)
	}
	if !rec.Recovered && tl.Resyncs == 0 {
		t.Errorf("socket s neither recovered nor got a resync: %v", tl)
	}
	t.Logf("socket s reconnected to node B: %v", rec)
}
