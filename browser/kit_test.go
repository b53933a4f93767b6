package browser_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
)

// minKitTests is how many tests the kit's suite has at least; fewer passing means some
// silently stopped running.
const minKitTests = 35

// The client/ kit's own tests (node --test) against the real syncgate binary: events as the
// PoC's actions, org isolation and switching, status through a restart, a network cut, a
// revocation and an unavailable upstream, client events and rooms; the TanStack Query and
// RTK Query bindings, the types under tsc --strict, the npm pack tarball, and the README's
// recipes under client/examples/.
func TestClientKit(t *testing.T) {
	root := testenv.RepoRoot(t)
	dir := needNodeModules(t, root, "client", "socket.io-client")
	files, err := filepath.Glob(filepath.Join(dir, "test", "*.test.js"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no kit tests in %s/test: %v", dir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := append([]string{"--test", "--test-reporter=tap"}, files...)
	cmd := exec.CommandContext(ctx, nodeBin(t), args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv("SYNCGATE_BIN=" + binPath)
	cmd.SysProcAttr = childAttr()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test in client/: %v\n%s", err, out)
	}
	pass := regexp.MustCompile(`(?m)^# pass (\d+)$`).FindSubmatch(out)
	fail := regexp.MustCompile(`(?m)^# fail (\d+)$`).FindSubmatch(out)
	if pass == nil || fail == nil {
		t.Fatalf("no TAP summary in the output of node --test:\n%s", out)
	}
	if n, _ := strconv.Atoi(string(pass[1])); n < minKitTests || string(fail[1]) != "0" {
		t.Fatalf("kit tests: %s passed (want at least %d), %s failed\n%s", pass[1], minKitTests, fail[1], out)
	}
	if testing.Verbose() {
		t.Logf("%s", out)
	}
}
