package browser_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// binPath is the syncgate binary built once for this package's tests by TestMain.
var binPath string

// updateDocs makes TestDemoInChromium also write docs/demo.png, the README's screenshot.
var updateDocs = flag.Bool("update-docs", false, "write docs/demo.png from TestDemoInChromium")

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "syncgate-browser-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "syncgate")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", binPath, "../cmd/syncgate")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build ../cmd/syncgate: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// cleanEnv is the environment without SYNCGATE_* variables, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SYNCGATE_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// needNodeModules fails the test unless dir (relative to the repo root) has node_modules/pkg.
func needNodeModules(t *testing.T, root, dir, pkg string) string {
	t.Helper()
	abs := filepath.Join(root, dir)
	if _, err := os.Stat(filepath.Join(abs, "node_modules", pkg)); err != nil {
		t.Fatalf("%s has no node_modules/%s (%v): run ./scripts/test.sh, which runs npm ci there", dir, pkg, err)
	}
	return abs
}

// nodeBin returns node's path or fails the test.
func nodeBin(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found on PATH (%v): run ./scripts/test.sh, which installs it", err)
	}
	return node
}
