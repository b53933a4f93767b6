package topology

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// inCI reports whether the tests run in CI (CI=true or CI=1), where no tool may be missing.
func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

// lookTool finds bin on PATH or in /usr/sbin and /sbin, where Debian puts nginx: a non-root
// user's PATH often lacks them.
func lookTool(bin string) (string, error) {
	p, err := exec.LookPath(bin)
	if err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		cand := dir + "/" + bin
		if st, statErr := os.Stat(cand); statErr == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return cand, nil
		}
	}
	return "", err
}

// needTool returns the path of bin, failing the test when it is missing.
func needTool(t *testing.T, bin, pkg string) string {
	t.Helper()
	p, err := lookTool(bin)
	if err != nil {
		t.Fatalf("%s not found (%v): run ./scripts/test.sh, which installs Debian's %s", bin, err, pkg)
	}
	return p
}

// optionalTool returns the path of bin; when it is missing the test is skipped, except in CI,
// where it fails.
func optionalTool(t *testing.T, bin, pkg string) string {
	t.Helper()
	p, err := lookTool(bin)
	if err == nil {
		return p
	}
	if inCI() {
		t.Fatalf("%s not found in CI (%v): scripts/test.sh must install Debian's %s", bin, err, pkg)
	}
	t.Skipf("%s not installed (%v); ./scripts/test.sh installs Debian's %s", bin, err, pkg)
	return ""
}
