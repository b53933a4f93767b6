package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/triggers"
)

// Trigger tooling for developers: check a file, ask what a call would fire, and draft
// triggers for the mutations a running gateway saw fire nothing.

// errFailed makes main exit 1 without printing anything more.
var errFailed = errors.New("failed")

// runCheck: syncgate check --triggers FILE. Exit 0 if the file is valid.
func runCheck(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("triggers", "", "trigger file to check")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("check: --triggers FILE is required")
	}
	set, err := triggers.Load(*file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return errFailed
	}
	fmt.Fprintf(stdout, "%s: ok, %d triggers\n", *file, set.Len())
	return nil
}

// runMatch: syncgate match --triggers FILE [--status N] [--body JSON] [--header K:V]... METHOD PATH
// prints exactly which events a call would fire.
func runMatch(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("match", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("triggers", "", "trigger file")
	status := fs.Int("status", 200, "the upstream's answer status")
	body := fs.String("body", "", "the upstream's JSON answer, for from_response triggers")
	prefix := fs.String("api-prefix", "/api", "stripped from PATH when present")
	var headers headerFlags
	fs.Var(&headers, "header", "request header NAME:VALUE (repeatable), for org: header:NAME triggers")
	if err := fs.Parse(reorder(args)); err != nil {
		return err
	}
	if *file == "" || fs.NArg() != 2 {
		return errors.New("usage: syncgate match --triggers FILE [--status N] [--body JSON] [--header K:V] METHOD PATH")
	}
	set, err := triggers.Load(*file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return errFailed
	}
	method, path := strings.ToUpper(fs.Arg(0)), fs.Arg(1)
	u, err := url.Parse(path)
	if err != nil {
		return fmt.Errorf("match: bad path %q: %w", path, err)
	}
	rel := u.EscapedPath()
	if p, ok := strings.CutPrefix(rel, *prefix); ok && (p == "" || strings.HasPrefix(p, "/")) {
		rel = p
	}
	switch {
	case method != "POST" && method != "PUT" && method != "PATCH" && method != "DELETE":
		fmt.Fprintf(stdout, "no events: %s is not a mutating method\n", method)
		return nil
	case *status < 200 || *status > 299:
		fmt.Fprintf(stdout, "no events: status %d is not 2xx\n", *status)
		return nil
	}
	evs := set.Match(method, rel, http.Header(headers), []byte(*body))
	if len(evs) == 0 {
		fmt.Fprintf(stdout, "no events: %s %s matches no trigger\n", method, rel)
		return nil
	}
	for _, ev := range evs {
		data, _ := json.Marshal(ev.Data)
		target := "/org/" + ev.Org
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

// runSuggest: syncgate suggest [--admin URL] reads a running gateway's table of
// successful mutations that fired no trigger and prints a draft trigger file for them.
func runSuggest(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("suggest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	admin := fs.String("admin", "http://127.0.0.1:9090", "the gateway's admin listener")
	if err := fs.Parse(args); err != nil {
		return err
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
	fmt.Fprint(stdout, draftTriggers(rows))
	return nil
}

// draftTriggers writes a trigger file for unmatched mutation shapes.
func draftTriggers(rows []gateway.UnmatchedRow) string {
	var b strings.Builder
	b.WriteString("# Draft triggers for successful mutations that fired no event (syncgate suggest).\n")
	b.WriteString("# Review every name; check with: syncgate check --triggers FILE\n")
	b.WriteString("triggers:\n")
	if len(rows) == 0 {
		b.WriteString("  [] # every mutation seen so far fired a trigger\n")
		return b.String()
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Count > rows[j].Count })
	for _, r := range rows {
		fmt.Fprintf(&b, "  # seen %d times, last %s\n", r.Count, r.Last.Format(time.RFC3339))
		fmt.Fprintf(&b, "  - event: %s\n    method: %s\n    path: %s\n", draftEventName(r.Method, r.Path), r.Method, r.Path)
		if !strings.Contains(r.Path, "{orgId}") {
			b.WriteString("    org: header:X-Org-Id  # no {orgId} in the path: say where the org comes from\n")
		}
	}
	return b.String()
}

// draftEventName: PATCH /orgs/{orgId}/people/{personId} → people.updated.
func draftEventName(method, path string) string {
	var last string
	for _, s := range strings.Split(strings.Trim(path, "/"), "/") {
		if s != "" && !strings.HasPrefix(s, "{") {
			last = s
		}
	}
	verb := map[string]string{"POST": "created", "PUT": "put", "PATCH": "updated", "DELETE": "deleted"}[method]
	name := strings.ToLower(strings.ReplaceAll(last, "_", "")) + "." + verb
	if last == "" {
		name = "changed." + verb
	}
	return name
}
