package soak

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
)

// TestSoakShort is issue 20's scenario compressed to about 2½ minutes: 2 nodes, 300
// sockets in 10 orgs (websocket, polling, polling→websocket), churn with recovery, 20
// mutations a second through both nodes, client events, then a Redis kill -9 + empty
// restart, a node SIGTERM + restart and a node kill -9 + restart. Every expected event must
// be delivered exactly once or covered by a resync (or a fresh reconnect); nothing may reach
// the wrong org or room. Lost events are explained in WORKDIR/lost.txt (the path is logged).
func TestSoakShort(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: skipped with -short")
	}
	root := testenv.RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "test", "node", "node_modules", "socket.io-client")); err != nil {
		t.Fatalf("socket.io-client missing in test/node/node_modules (run ./scripts/test.sh, which installs it): %v", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node not on PATH (./scripts/test.sh installs it): %v", err)
	}
	work := t.TempDir()
	if dir := os.Getenv("SYNCGATE_SOAK_DIR"); dir != "" {
		work = dir // keep the logs, lost.txt and a journal of every driver line after the test
	}
	bin := filepath.Join(work, "syncgate")
	build := exec.Command("go", "build", "-o", bin, "./cmd/syncgate")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/syncgate: %v\n%s", err, out)
	}
	cfg := Short()
	cfg.Binary, cfg.RepoRoot, cfg.WorkDir = bin, root, work
	cfg.Progress = testWriter{t}
	cfg.Journal = os.Getenv("SYNCGATE_SOAK_DIR") != ""
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("soak did not run: %v", err)
	}
	v := res.Verdict
	// The instrument must have measured something: sockets connected and reconnected,
	// events flowed in every phase, and every fault happened.
	if len(res.Faults) != 3 {
		t.Errorf("faults carried out: %d, want 3", len(res.Faults))
	}
	if v.Reconnects < 50 || v.Recovered == 0 {
		t.Errorf("churn too small to judge: %d reconnects, %d recovered", v.Reconnects, v.Recovered)
	}
	for i, p := range v.Phases {
		if v.Trigger[i].Delivered == 0 {
			t.Errorf("phase %q: no trigger event delivered", p.Name)
		}
	}
	if v.Failed() {
		t.Errorf("the guarantee broke: LOST %d, duplicates %d, wrong org %d, wrong room %d, stuck sockets %d, unreported %d, subscribe refused %d; first lost events in %s",
			v.Total.Lost, v.Total.Duplicates, v.Total.WrongOrg, v.Total.WrongRoom, len(v.Stuck), v.NoFinal, v.SubFails, res.LostFile)
		if b, err := os.ReadFile(res.LostFile); err == nil {
			t.Logf("%s:\n%s", res.LostFile, truncate(string(b), 6000))
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "\n…"
}

// testWriter sends progress lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
