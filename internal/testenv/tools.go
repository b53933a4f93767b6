package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ToolsDir is where scripts/test.sh puts the tools that Debian does not package as a
// command of their own (helm, built from its Go module; promtool, taken from Debian's
// prometheus package): $XDG_CACHE_HOME/syncgate-tools/bin, by default
// ~/.cache/syncgate-tools/bin.
func ToolsDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "syncgate-tools", "bin")
}

// OptionalTool returns the path of bin, found on PATH or in ToolsDir. When it is missing the
// test is skipped, except in CI (CI=true or CI=1), where it fails: ./scripts/test.sh installs
// every tool the tests use.
func OptionalTool(t testing.TB, bin string) string {
	t.Helper()
	if p, err := exec.LookPath(bin); err == nil {
		return p
	}
	if dir := ToolsDir(); dir != "" {
		p := filepath.Join(dir, bin)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	if ci := strings.ToLower(os.Getenv("CI")); ci == "true" || ci == "1" {
		t.Fatalf("%s not found on PATH or in %s in CI: ./scripts/test.sh installs it", bin, ToolsDir())
	}
	t.Skipf("%s not installed (not on PATH, not in %s): ./scripts/test.sh installs it", bin, ToolsDir())
	return ""
}
