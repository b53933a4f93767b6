package topology

import (
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
)

var (
	binDir  string // removed by TestMain
	binOnce sync.Once
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "syncgate-topology-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	return m.Run()
}

// syncgateBinary builds ./cmd/syncgate once, the way the Dockerfile does (CGO_ENABLED=0,
// -trimpath), and returns its path.
func syncgateBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		root := testenv.RepoRoot(t)
		out := filepath.Join(binDir, "syncgate")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, "./cmd/syncgate")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/syncgate: %w\n%s", err, b)
			return
		}
		binPath = out
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// The image's binary must run on a base with no libc: no ELF interpreter, no shared libraries.
func TestBinaryIsStatic(t *testing.T) {
	f, err := elf.Open(syncgateBinary(t))
	if err != nil {
		t.Fatalf("open binary: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary has an ELF interpreter: it is dynamically linked")
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatalf("read imported libraries: %v", err)
	}
	if len(libs) != 0 {
		t.Fatalf("the binary needs shared libraries %v", libs)
	}
}
