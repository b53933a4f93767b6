package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// callMain runs realMain in-process and returns its exit code and output.
func callMain(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = realMain(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestFlagTableRendersEveryFlag(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.String("listen", ":8080", "address to listen on")
	fs.String("upstream", "", "base URL (required unless --demo)")
	fs.Duration("membership-ttl", 30*time.Second, "cache lifetime")
	fs.Bool("demo", false, "run the demo")
	fs.Int("max-payload", 1_000_000, "largest message")
	fs.String("roles", "", `comma list; "*": any | or none`)
	fs.String("odd", "a`b", "multi\n  line usage")
	want := "| flag | environment | default | meaning |\n" +
		"|---|---|---|---|\n" +
		"| `--demo` | `SYNCGATE_DEMO` | `false` | run the demo |\n" +
		"| `--listen` | `SYNCGATE_LISTEN` | `:8080` | address to listen on |\n" +
		"| `--max-payload` | `SYNCGATE_MAX_PAYLOAD` | `1000000` | largest message |\n" +
		"| `--membership-ttl` | `SYNCGATE_MEMBERSHIP_TTL` | `30s` | cache lifetime |\n" +
		"| `--odd` | `SYNCGATE_ODD` | `` a`b `` | multi line usage |\n" +
		"| `--roles` | `SYNCGATE_ROLES` | (empty) | comma list; \"*\": any \\| or none |\n" +
		"| `--upstream` | `SYNCGATE_UPSTREAM` | (empty) | base URL (required unless --demo) |\n"
	if got := flagTable(fs); got != want {
		t.Fatalf("flagTable:\n%s\nwant:\n%s", got, want)
	}
}

// readmeFlagTable returns the table in readme that starts with flagTableHeader: that row and
// every row right after it.
func readmeFlagTable(readme string) (string, bool) {
	lines := strings.Split(readme, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != flagTableHeader {
			continue
		}
		var b strings.Builder
		for _, row := range lines[i:] {
			if !strings.HasPrefix(row, "|") {
				break
			}
			b.WriteString(row + "\n")
		}
		return b.String(), true
	}
	return "", false
}

// README.md's flag table is `syncgate help flags`, so a flag added, renamed or reworded in
// gateway/config.go fails here until the README says the same.
func TestREADMEFlagTableIsGenerated(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	inREADME, ok := readmeFlagTable(string(readme))
	if !ok {
		t.Fatalf("README.md has no table with the header row %q; put `go run ./cmd/syncgate help flags` under \"### Configuration\"", flagTableHeader)
	}
	fs, err := gatewayFlagSet()
	if err != nil {
		t.Fatal(err)
	}
	generated := flagTable(fs)
	if inREADME == generated {
		return
	}
	got, want := strings.Split(inREADME, "\n"), strings.Split(generated, "\n")
	for i := range max(len(got), len(want)) {
		g, w := "", ""
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Fatalf("README.md's flag table differs from the flag definitions at row %d:\n README: %s\n flags:  %s\n"+
				"Regenerate it: go run ./cmd/syncgate help flags, and replace the table headed %q in README.md with the output.",
				i+1, g, w, flagTableHeader)
		}
	}
}

func TestHelpFlags(t *testing.T) {
	code, stdout, stderr := callMain("help", "flags")
	if code != 0 || !strings.HasPrefix(stdout, flagTableHeader+"\n") || !strings.Contains(stdout, "| `--upstream` | `SYNCGATE_UPSTREAM` |") {
		t.Fatalf("help flags: exit %d, stderr %q, stdout %q", code, stderr, stdout)
	}
}

func TestHelpListsEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"help", "-h"}} {
		code, stdout, stderr := callMain(args...)
		if code != 0 || stderr != "" {
			t.Fatalf("%q: exit %d, stderr %q", args, code, stderr)
		}
		names := []string{"--version"}
		for _, c := range commands() {
			names = append(names, c.name)
		}
		for _, name := range names {
			if !strings.Contains(stdout, "\n  "+name+" ") {
				t.Errorf("%q does not list %s:\n%s", args, name, stdout)
			}
		}
		// The test tools are listed apart from what runs in production.
		tests := strings.Index(stdout, "not for production")
		if tests < 0 || strings.Index(stdout, "  conformance ") < tests || strings.Index(stdout, "  demo-api ") < tests || strings.Index(stdout, "  check ") > tests {
			t.Errorf("%q: conformance and demo-api are not grouped as test tools:\n%s", args, stdout)
		}
	}
}

func TestHelpCommandPrintsItsOwnUsage(t *testing.T) {
	for _, c := range []struct {
		cmd  string
		want []string
	}{
		{"check", []string{"usage: syncgate check [--org-id-format F] (FILE | --triggers FILE)\n", "-triggers string", "trigger file to check"}},
		{"match", []string{"usage: syncgate match --triggers FILE", "-status int", "-header value"}},
		{"suggest", []string{"usage: syncgate suggest [--admin URL] [--triggers FILE]", "-admin string"}},
		{"version", []string{"usage: syncgate version\n"}},
		{"help", []string{"usage: syncgate help [COMMAND | flags]"}},
		{"doctor", []string{"usage: syncgate doctor --upstream URL", "-memberships-path string", "-token string"}},
	} {
		code, stdout, stderr := callMain("help", c.cmd)
		if code != 0 || stderr != "" {
			t.Fatalf("help %s: exit %d, stderr %q", c.cmd, code, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("help %s lacks %q:\n%s", c.cmd, w, stdout)
			}
		}
	}
	if code, _, stderr := callMain("help", "check", "match"); code != 2 || !strings.Contains(stderr, "usage: syncgate help") {
		t.Fatalf("help with two commands: exit %d, stderr %q; want 2 with the usage", code, stderr)
	}
}

func TestUnknownCommandExits2WithTheList(t *testing.T) {
	for _, args := range [][]string{{"frobnicate", "--x"}, {"help", "frobnicate"}} {
		code, stdout, stderr := callMain(args...)
		if code != 2 || stdout != "" {
			t.Fatalf("%q: exit %d, stdout %q; want 2 and nothing on stdout", args, code, stdout)
		}
		if !strings.HasPrefix(stderr, `syncgate: unknown command "frobnicate"`) {
			t.Errorf("%q: stderr does not start with the unknown command: %q", args, stderr)
		}
		for _, c := range commands() {
			if !strings.Contains(stderr, "\n  "+c.name+" ") {
				t.Errorf("%q: the list on stderr lacks %s", args, c.name)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-version"}, {"version"}} {
		code, stdout, stderr := callMain(args...)
		if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "syncgate ") || !strings.HasSuffix(stdout, "go: "+runtime.Version()+"\n") {
			t.Fatalf("%q: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	if code, _, stderr := callMain("version", "now"); code != 2 || !strings.Contains(stderr, "usage: syncgate version") {
		t.Fatalf("version with an argument: exit %d, stderr %q", code, stderr)
	}
	info := &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Path: "github.com/syncgate/syncgate", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.modified", Value: "true"}, {Key: "-trimpath", Value: "true"},
			{Key: "vcs.time", Value: "2025-01-02T03:04:05Z"}, {Key: "vcs.revision", Value: "0123456789abcdef"},
		}}
	want := "syncgate v1.2.3\nrevision: 0123456789abcdef\ntime: 2025-01-02T03:04:05Z\nmodified: true\ngo: go1.99.1\n"
	if got := versionText(info); got != want {
		t.Errorf("versionText = %q, want %q", got, want)
	}
	if got := versionText(&debug.BuildInfo{GoVersion: "go1.99.1"}); got != "syncgate (devel)\ngo: go1.99.1\n" {
		t.Errorf("versionText of a work-tree build without VCS = %q", got)
	}
	if got := versionText(nil); !strings.HasPrefix(got, "syncgate (unknown") {
		t.Errorf("versionText(nil) = %q", got)
	}
}

// codedError is an error carrying an exit code, as the tools return.
type codedError struct {
	code int
	err  error
}

func (e codedError) Error() string { return e.err.Error() }
func (e codedError) Unwrap() error { return e.err }
func (e codedError) ExitCode() int { return e.code }

func TestMainExitCode(t *testing.T) {
	for _, c := range []struct {
		name    string
		err     error
		code    int
		printed string // "": nothing on stderr
	}{
		{"success", nil, 0, ""},
		{"usage asked for", flag.ErrHelp, 0, ""},
		{"usage asked for, wrapped", fmt.Errorf("check: %w", flag.ErrHelp), 0, ""},
		{"already printed", errFailed, 1, ""},
		{"already printed, wrapped", fmt.Errorf("x: %w", errFailed), 1, ""},
		{"plain error", errors.New("listen :80: denied"), 1, "syncgate: listen :80: denied\n"},
		{"misuse, code 2", codedError{2, errors.New("check: --triggers FILE is required")}, 2, "syncgate: check: --triggers FILE is required\n"},
		{"coded and wrapped", fmt.Errorf("match: %w", codedError{2, errors.New("bad")}), 2, "syncgate: match: bad\n"},
		{"failure already printed, code 1", codedError{1, errFailed}, 1, ""},
		{"code 2 already printed", exitError{code: 2}, 2, ""},
		{"nonsense code 0 is still a failure", codedError{0, errors.New("odd")}, 1, "syncgate: odd\n"},
	} {
		var errb bytes.Buffer
		if got := mainExitCode(c.err, &errb); got != c.code || errb.String() != c.printed {
			t.Errorf("%s: code %d, stderr %q; want %d, %q", c.name, got, errb.String(), c.code, c.printed)
		}
	}
}

// realMain runs the tools and maps their results: a broken file is reported once, exit 1;
// misuse exits 2.
func TestRealMainRunsTheTools(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("triggers:\n  - event: Bad\n    method: PUT\n    path: /orgs/{orgId}/y\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := callMain("check", "--triggers", bad)
	if code != 1 || stdout != "" || strings.Count(stderr, bad+":2:") != 1 || strings.Contains(stderr, "syncgate: failed") {
		t.Fatalf("check on a broken file: exit %d, stdout %q, stderr %q; want 1 and the error once", code, stdout, stderr)
	}
	code, stdout, stderr = callMain("check", "--triggers", filepath.Join("..", "..", "examples", "zetkin-poc.yaml"))
	if code != 0 || !strings.Contains(stdout, "ok,") || stderr != "" {
		t.Fatalf("check on the shipped file: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code, _, stderr := callMain("check", "-h"); code != 0 || !strings.Contains(stderr, "-triggers") {
		t.Fatalf("check -h: exit %d, stderr %q", code, stderr)
	}
	// Misuse is the tools' exit code 2 (their error's ExitCode), its message printed once.
	t.Setenv("SYNCGATE_TRIGGERS", "")
	if code, _, stderr := callMain("check"); code != 2 || strings.Count(stderr, "--triggers FILE is required") != 1 {
		t.Fatalf("check without a file: exit %d, stderr %q; want 2 and the message once", code, stderr)
	}
}

// `syncgate --help` still prints the gateway's flags, after a pointer to `syncgate help`.
func TestGatewayHelpPointsToHelp(t *testing.T) {
	res := runBinary(t, nil, "--help")
	first, _, _ := strings.Cut(res.stderr, "\n")
	if res.code != 0 || !strings.Contains(res.stderr, "-upstream") {
		t.Fatalf("--help: exit %d, stderr %q", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, "`syncgate help`") || strings.Index(res.stderr, "`syncgate help`") > strings.Index(res.stderr, "-upstream") {
		t.Fatalf("--help does not start by pointing to `syncgate help`; first line %q", first)
	}
}
