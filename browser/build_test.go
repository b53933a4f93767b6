package browser_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
)

// demo/static is committed so that `go run ./cmd/syncgate --demo` needs no Node; it must be
// exactly what Vite builds from demo/web and client/ now, or the demo runs old code.
func TestDemoBuildIsUpToDate(t *testing.T) {
	root := testenv.RepoRoot(t)
	web := needNodeModules(t, root, "demo/web", "vite")
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBin(t), filepath.Join("node_modules", "vite", "bin", "vite.js"), "build")
	cmd.Dir = web
	cmd.Env = cleanEnv("DEMO_OUT_DIR=" + out)
	cmd.SysProcAttr = childAttr()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("vite build: %v\n%s", err, b)
	}
	committed := filepath.Join(root, "demo", "static")
	want, got := listFiles(t, out), listFiles(t, committed)
	if !slices.Equal(want, got) {
		t.Fatalf("demo/static has %v, the build has %v: run `npm run build` in demo/web", got, want)
	}
	for _, name := range want {
		a, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(committed, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("demo/static/%s differs from the build of demo/web: run `npm run build` in demo/web", name)
		}
	}
}

func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}
