package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/orgid"
	"github.com/syncgate/syncgate/triggers"
)

// Trigger tooling for developers: check a file, ask what a call would fire, and draft
// triggers for the mutations a running gateway saw fire nothing.

// errFailed makes main exit without printing anything more: the tool has said what went
// wrong.
var errFailed = errors.New("failed")

// toolError gives main the exit code of a tool: 1 when the answer is no (the file has
// problems, the call fires nothing), 2 for misuse or a file that can't be used. main finds
// it with errors.As on interface{ ExitCode() int }; err is printed unless it is errFailed.
type toolError struct {
	code int
	err  error
}

func (e *toolError) Error() string { return e.err.Error() }
func (e *toolError) Unwrap() error { return e.err }
func (e *toolError) ExitCode() int { return e.code }

// Exit codes of check and match.
const (
	exitNo    = 1 // check: problems found; match: nothing fires
	exitUsage = 2 // bad arguments, or a trigger file that can't be read (match: or used)
)

// failed is a toolError whose message the tool has already printed.
func failed(code int) error { return &toolError{code: code, err: errFailed} }

// misuse is a usage error for main to print, exit 2.
func misuse(format string, args ...any) error {
	return &toolError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// parseFlags parses a tool's flags. The flag package has printed any error and the usage
// already; -h is flag.ErrHelp (exit 0), anything else is misuse.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return err
	}
	return failed(exitUsage)
}

// fileFlags are the flags that say how to read the trigger file; like the gateway's
// flags, they default to their SYNCGATE_* environment twins.
type fileFlags struct {
	file *string
	ids  orgIDFlag
}

func addFileFlags(fs *flag.FlagSet, usage string) *fileFlags {
	f := &fileFlags{file: fs.String("triggers", os.Getenv("SYNCGATE_TRIGGERS"), usage+" (default $SYNCGATE_TRIGGERS)")}
	f.ids.name = os.Getenv("SYNCGATE_ORG_ID_FORMAT")
	fs.Var(&f.ids, "org-id-format", "org ID format of the upstream: text or integer, as the gateway's flag (default $SYNCGATE_ORG_ID_FORMAT, else text)")
	return f
}

// load reads the trigger file. A file that can't be read is exit 2; a file with problems
// gets invalidCode (check: 1, the answer; match and suggest: 2, they can't work).
func (f *fileFlags) load(stderr io.Writer, invalidCode int) (*triggers.Set, error) {
	ids, err := orgid.ParseFormat(f.ids.name)
	if err != nil {
		return nil, misuse("--org-id-format: %w", err)
	}
	set, err := triggers.LoadWith(*f.file, triggers.Options{IDs: ids})
	if err == nil {
		return set, nil
	}
	fmt.Fprintln(stderr, err)
	if errors.Is(err, triggers.ErrInvalid) {
		return nil, failed(invalidCode)
	}
	return nil, failed(exitUsage)
}

// orgIDFlag is --org-id-format, checked when the file is loaded (so that a bad
// $SYNCGATE_ORG_ID_FORMAT is reported too).
type orgIDFlag struct{ name string }

func (o *orgIDFlag) String() string { return o.name }
func (o *orgIDFlag) Set(v string) error {
	if _, err := orgid.ParseFormat(v); err != nil {
		return err
	}
	o.name = v
	return nil
}

// runCheck: syncgate check --triggers FILE. It prints every problem of the file as
// FILE:LINE (exit 1), or "ok" and any warnings (exit 0).
func runCheck(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ff := addFileFlags(fs, "trigger file to check")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 1 && *ff.file == "" { // syncgate check FILE
		*ff.file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return misuse("check: unexpected arguments %q (usage: syncgate check --triggers FILE)", fs.Args())
	}
	if *ff.file == "" {
		return misuse("check: --triggers FILE is required")
	}
	set, err := ff.load(stderr, exitNo)
	if err != nil {
		return err
	}
	warnings := set.Warnings()
	for _, w := range warnings {
		fmt.Fprintln(stderr, w)
	}
	fmt.Fprintf(stdout, "%s: ok, %d triggers, org placeholder {%s}, %s org IDs", *ff.file, set.Len(), set.OrgParam(), set.IDs())
	switch n := len(warnings); {
	case n == 1:
		fmt.Fprint(stdout, ", 1 warning")
	case n > 1:
		fmt.Fprintf(stdout, ", %d warnings", n)
	}
	fmt.Fprintln(stdout)
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// runMatch: syncgate match --triggers FILE [--status N] [--body JSON] [--header K:V]... METHOD PATH
// prints exactly which events a call would fire (exit 0), or that none would and the
// trigger that came nearest, with what differs (exit 1).
func runMatch(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("match", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ff := addFileFlags(fs, "trigger file")
	status := fs.Int("status", 200, "the upstream's answer status")
	body := fs.String("body", "", "the upstream's JSON answer, for from_response triggers")
	prefix := fs.String("api-prefix", "/api", "stripped from PATH when present")
	nsp := fs.String("namespace-prefix", envOr("SYNCGATE_NAMESPACE_PREFIX", "/org"), "the gateway's --namespace-prefix, for the namespaces printed (default $SYNCGATE_NAMESPACE_PREFIX, else /org)")
	var headers headerFlags
	fs.Var(&headers, "header", "request header NAME:VALUE (repeatable), for org: header:NAME triggers")
	if err := parseFlags(fs, reorder(args)); err != nil {
		return err
	}
	if *ff.file == "" || fs.NArg() != 2 {
		return misuse("usage: syncgate match --triggers FILE [--status N] [--body JSON] [--header K:V] METHOD PATH")
	}
	method, path := strings.ToUpper(fs.Arg(0)), fs.Arg(1)
	u, err := url.Parse(path)
	if err != nil {
		return misuse("match: bad path %q: %w", path, err)
	}
	set, err := ff.load(stderr, exitUsage)
	if err != nil {
		return err
	}
	rel := u.EscapedPath()
	if p, ok := strings.CutPrefix(rel, *prefix); ok && (p == "" || strings.HasPrefix(p, "/")) {
		rel = p
	}
	switch {
	case method != "POST" && method != "PUT" && method != "PATCH" && method != "DELETE":
		fmt.Fprintf(stdout, "no events: %s is not a mutating method\n", method)
		return failed(exitNo)
	case *status < 200 || *status > 299:
		fmt.Fprintf(stdout, "no events: status %d is not 2xx\n", *status)
		return failed(exitNo)
	}
	evs := set.Match(method, rel, http.Header(headers), []byte(*body))
	if len(evs) == 0 {
		fmt.Fprintf(stdout, "no events: %s %s matches no trigger\n", method, rel)
		explainMiss(stdout, *ff.file, set, method, rel, http.Header(headers))
		return failed(exitNo)
	}
	for _, ev := range evs {
		data, _ := json.Marshal(ev.Data)
		target := strings.TrimSuffix(*nsp, "/") + "/" + ev.Org
		if ev.Room != "" {
			target += " room " + ev.Room
		}
		if ev.Incomplete {
			fmt.Fprintf(stdout, "%s → %s resync (a from_response ID is missing from the body)\n", ev.Name, target)
			continue
		}
		fmt.Fprintf(stdout, "%s → %s %s\n", ev.Name, target, data)
	}
	return nil
}

// explainMiss prints the trigger nearest to a call that fired nothing, and what differs.
func explainMiss(w io.Writer, file string, set *triggers.Set, method, path string, h http.Header) {
	m, ok := set.Nearest(method, path, h)
	if ok {
		fmt.Fprintf(w, "nearest trigger: %s at %s:%d: %s %s\n", m.Event, file, m.Line, m.Method, m.Path)
	}
	for _, r := range m.Reasons {
		fmt.Fprintf(w, "  %s\n", r)
	}
}

// reorder moves flags before the two positional arguments, so both orders work.
func reorder(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

type headerFlags http.Header

func (h *headerFlags) String() string { return "" }

func (h *headerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok {
		return fmt.Errorf("want NAME:VALUE, got %q", v)
	}
	if *h == nil {
		*h = headerFlags{}
	}
	http.Header(*h).Add(strings.TrimSpace(name), strings.TrimSpace(value))
	return nil
}

// runSuggest: syncgate suggest [--admin URL] [--triggers FILE] reads a running gateway's
// table of successful mutations that fired no trigger and prints a draft trigger file for
// them, in the org placeholder of the trigger file in use (its org_param, else orgId).
func runSuggest(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("suggest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	admin := fs.String("admin", "http://127.0.0.1:9090", "the gateway's admin listener")
	ff := addFileFlags(fs, "the gateway's trigger file, for its org_param (optional)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	orgParam := triggers.DefaultOrgParam
	if *ff.file != "" {
		set, err := ff.load(stderr, exitUsage)
		if err != nil {
			return err
		}
		orgParam = set.OrgParam()
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(strings.TrimSuffix(*admin, "/") + "/v1/unmatched")
	if err != nil {
		return fmt.Errorf("suggest: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("suggest: %s answered %s", *admin, resp.Status)
	}
	var rows []gateway.UnmatchedRow
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&rows); err != nil {
		return fmt.Errorf("suggest: bad answer: %w", err)
	}
	fmt.Fprint(stdout, draftTriggers(rows, orgParam))
	return nil
}

// draftTriggers writes a trigger file for unmatched mutation shapes; orgParam is the
// placeholder that names the org in their paths.
func draftTriggers(rows []gateway.UnmatchedRow, orgParam string) string {
	var b strings.Builder
	b.WriteString("# Draft triggers for successful mutations that fired no event (syncgate suggest).\n")
	b.WriteString("# Review every name; check with: syncgate check --triggers FILE\n")
	if orgParam != triggers.DefaultOrgParam {
		fmt.Fprintf(&b, "org_param: %s\n", orgParam)
	}
	b.WriteString("triggers:\n")
	if len(rows) == 0 {
		b.WriteString("  [] # every mutation seen so far fired a trigger\n")
		return b.String()
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Count > rows[j].Count })
	for _, r := range rows {
		fmt.Fprintf(&b, "  # seen %d times, last %s\n", r.Count, r.Last.Format(time.RFC3339))
		fmt.Fprintf(&b, "  - event: %s\n    method: %s\n    path: %s\n", draftEventName(r.Method, r.Path), r.Method, r.Path)
		if !strings.Contains(r.Path, "{"+orgParam+"}") {
			fmt.Fprintf(&b, "    org: header:X-Org-Id  # no {%s} in the path: say where the org comes from\n", orgParam)
		}
	}
	return b.String()
}

// draftEventName is triggers.DraftEventName, the naming rule replay and from-openapi share:
// PATCH /orgs/{orgId}/people/{personId} → people.updated.
func draftEventName(method, path string) string { return triggers.DraftEventName(method, path) }
