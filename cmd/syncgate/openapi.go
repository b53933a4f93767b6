package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/syncgate/syncgate/openapi"
	"github.com/syncgate/syncgate/orgid"
	"github.com/syncgate/syncgate/triggers"
)

// Trigger authoring at API scale: draft a trigger file from an OpenAPI document, gate CI on
// its coverage, and replay an access log through it before going live.

// runTriggers: syncgate triggers SUBCOMMAND; from-openapi is the one there is.
func runTriggers(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || wantsHelp(args[:1]) {
		fmt.Fprintln(stderr, "usage: syncgate triggers from-openapi SPEC [--org-param NAME] [--out FILE] [--merge FILE]")
		if len(args) == 0 {
			return failed(exitUsage)
		}
		return flag.ErrHelp
	}
	if args[0] != "from-openapi" {
		return misuse("triggers: unknown subcommand %q (want from-openapi)", args[0])
	}
	return runFromOpenAPI(args[1:], stdout, stderr)
}

// runFromOpenAPI writes a trigger file for a document, or merges the document's new
// operations into an existing one.
func runFromOpenAPI(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("triggers from-openapi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	orgParam := fs.String("org-param", "", "the path placeholder that names the org (default orgId; with --merge, the file's org_param)")
	out := fs.String("out", "", "write the trigger file here instead of stdout")
	merge := fs.String("merge", "", "an existing trigger file: keep it as it is and add only the operations it does not cover")
	ids := fs.String("org-id-format", os.Getenv("SYNCGATE_ORG_ID_FORMAT"), "org ID format, for reading the --merge file (default $SYNCGATE_ORG_ID_FORMAT, else text)")
	if err := parseFlags(fs, reorder(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return misuse("usage: syncgate triggers from-openapi SPEC [--org-param NAME] [--out FILE] [--merge FILE]")
	}
	spec, err := openapi.Load(fs.Arg(0))
	if err != nil {
		return &toolError{code: exitUsage, err: err}
	}
	var data []byte
	var sum openapi.Summary
	if *merge != "" {
		data, sum, err = mergeInto(*merge, *ids, spec, openapi.Options{OrgParam: *orgParam}, stderr)
	} else {
		data, sum, err = openapi.Generate(spec, openapi.Options{OrgParam: *orgParam})
	}
	if err != nil {
		return &toolError{code: exitUsage, err: err}
	}
	if err := writeOut(*out, data, stdout); err != nil {
		return err
	}
	if *merge != "" {
		fmt.Fprintf(stderr, "%d triggers and %d ignore: entries added; %d operations already covered or ignored; %d left out\n", sum.Triggers, sum.Outside, sum.Kept, sum.Skipped)
	} else {
		fmt.Fprintf(stderr, "%d triggers; %d operations outside orgs under ignore:; %d left out (see the comments at the end)\n", sum.Triggers, sum.Outside, sum.Skipped)
	}
	return nil
}

// mergeInto reads the trigger file to merge into: it must load (its problems are exit 2).
func mergeInto(file, idFormat string, spec *openapi.Spec, o openapi.Options, stderr io.Writer) ([]byte, openapi.Summary, error) {
	ids, err := orgid.ParseFormat(idFormat)
	if err != nil {
		return nil, openapi.Summary{}, fmt.Errorf("--org-id-format: %w", err)
	}
	existing, err := os.ReadFile(file)
	if err != nil {
		return nil, openapi.Summary{}, fmt.Errorf("merge: %w", err)
	}
	set, err := triggers.ParseWith(file, existing, triggers.Options{IDs: ids})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, openapi.Summary{}, fmt.Errorf("merge: %s must load before new triggers are added to it", file)
	}
	return openapi.Merge(spec, existing, set, o)
}

// writeOut writes data to file ("" = stdout), leaving a file that already holds exactly
// data untouched.
func writeOut(file string, data []byte, stdout io.Writer) error {
	if file == "" {
		_, err := stdout.Write(data)
		return err
	}
	if old, err := os.ReadFile(file); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}

// runCoverage: syncgate coverage --openapi SPEC --triggers FILE [--format text|github].
// Exit 0 when every mutating operation has a trigger (or is ignored) and every trigger
// matches an operation; 1 otherwise; 2 on usage and file errors.
func runCoverage(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("coverage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	specFile := fs.String("openapi", "", "the OpenAPI 3.0/3.1 document (YAML or JSON)")
	ff := addFileFlags(fs, "trigger file")
	format := fs.String("format", "text", "text, or github: workflow commands a GitHub Actions run shows as annotations")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *specFile == "" || *ff.file == "" || fs.NArg() > 0 {
		return misuse("usage: syncgate coverage --openapi SPEC --triggers FILE [--format text|github]")
	}
	if *format != "text" && *format != "github" {
		return misuse("coverage: --format %q: want text or github", *format)
	}
	set, err := ff.load(stderr, exitUsage)
	if err != nil {
		return err
	}
	spec, err := openapi.Load(*specFile)
	if err != nil {
		return &toolError{code: exitUsage, err: err}
	}
	c := openapi.CheckCoverage(spec, set)
	if *format == "github" {
		printCoverageGitHub(stdout, spec, set, c)
	} else {
		printCoverage(stdout, spec, set, c)
	}
	if !c.OK() {
		return failed(exitNo)
	}
	return nil
}

func printCoverage(w io.Writer, spec *openapi.Spec, set *triggers.Set, c openapi.Coverage) {
	if n := len(c.Untriggered); n > 0 {
		fmt.Fprintf(w, "%d mutating operations without a trigger:\n", n)
		for _, op := range c.Untriggered {
			fmt.Fprintf(w, "  %s: %s%s\n", specLoc(spec, op), op.Label(), untriggeredHint(op, set))
		}
	}
	if n := len(c.Unused); n > 0 {
		fmt.Fprintf(w, "%d triggers matching no operation:\n", n)
		for _, t := range c.Unused {
			fmt.Fprintf(w, "  %s:%d: %s: %s %s\n", set.File(), t.Line, t.Event, t.Method, t.Path)
		}
	}
	if n := len(c.UnusedIgnores); n > 0 {
		fmt.Fprintf(w, "%d ignore: entries matching no operation:\n", n)
		for _, e := range c.UnusedIgnores {
			fmt.Fprintf(w, "  %s:%d: %s %s\n", set.File(), e.Line, e.Method, e.Path)
		}
	}
	verdict := "ok"
	if !c.OK() {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "coverage %s: %d of %d mutating operations triggered, %d ignored, %d without a trigger; %d of %d triggers match no operation\n",
		verdict, c.Triggered, c.Operations, c.Ignored, len(c.Untriggered), len(c.Unused), set.Len())
}

// untriggeredHint says what to do about an operation no trigger matches.
func untriggeredHint(op openapi.Operation, set *triggers.Set) string {
	if op.Template == "" {
		return " — " + op.Problem + "; mark it " + openapi.ExtIgnore + ": true"
	}
	return fmt.Sprintf(" — add a trigger (draft: event: %s), or list \"%s %s\" under ignore:", openapi.EventName(op), op.Method, op.Template)
}

func specLoc(spec *openapi.Spec, op openapi.Operation) string {
	if op.Line > 0 {
		return fmt.Sprintf("%s:%d", spec.File, op.Line)
	}
	return spec.File
}

// printCoverageGitHub writes GitHub Actions workflow commands (::error file=…,line=…::),
// which a run shows on the pull request's changed lines, then the summary as a notice.
func printCoverageGitHub(w io.Writer, spec *openapi.Spec, set *triggers.Set, c openapi.Coverage) {
	for _, op := range c.Untriggered {
		fmt.Fprintf(w, "::error file=%s,line=%d,title=%s::%s\n", ghProp(spec.File), max(op.Line, 1),
			ghProp("syncgate: mutation without a trigger"), ghData(op.Label()+untriggeredHint(op, set)))
	}
	for _, t := range c.Unused {
		fmt.Fprintf(w, "::error file=%s,line=%d,title=%s::%s\n", ghProp(set.File()), t.Line,
			ghProp("syncgate: trigger matches no operation"), ghData(fmt.Sprintf("%s: %s %s matches no operation of %s", t.Event, t.Method, t.Path, spec.File)))
	}
	for _, e := range c.UnusedIgnores {
		fmt.Fprintf(w, "::error file=%s,line=%d,title=%s::%s\n", ghProp(set.File()), e.Line,
			ghProp("syncgate: ignore entry matches no operation"), ghData(fmt.Sprintf("%s %s matches no operation of %s", e.Method, e.Path, spec.File)))
	}
	level := "notice"
	if !c.OK() {
		level = "error"
	}
	fmt.Fprintf(w, "::%s title=%s::%s\n", level, ghProp("syncgate coverage"), ghData(fmt.Sprintf("%d of %d mutating operations triggered, %d ignored, %d without a trigger; %d triggers match no operation",
		c.Triggered, c.Operations, c.Ignored, len(c.Untriggered), len(c.Unused))))
}

// ghData escapes a workflow command's message; ghProp one of its properties.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghProp(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// runReplay: syncgate replay --triggers FILE [--api-prefix P] ACCESS_LOG prints, per
// trigger, the events the log's 2xx mutations would have fired and to how many orgs, and
// the mutations no trigger matched. Exit 0 (it is a report), 2 on usage and file errors.
func runReplay(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ff := addFileFlags(fs, "trigger file")
	prefix := fs.String("api-prefix", envOr("SYNCGATE_API_PREFIX", "/api"), "stripped from each logged path; requests outside it are not API calls (\"\" for a log of the API itself)")
	if err := parseFlags(fs, reorder(args)); err != nil {
		return err
	}
	if *ff.file == "" || fs.NArg() != 1 {
		return misuse("usage: syncgate replay --triggers FILE [--api-prefix P] ACCESS_LOG")
	}
	set, err := ff.load(stderr, exitUsage)
	if err != nil {
		return err
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return &toolError{code: exitUsage, err: fmt.Errorf("replay: %w", err)}
	}
	defer f.Close()
	rep, err := openapi.Replay(f, set, *prefix)
	if err != nil {
		return &toolError{code: exitUsage, err: err}
	}
	printReplay(stdout, fs.Arg(0), set, rep)
	return nil
}

func printReplay(w io.Writer, logFile string, set *triggers.Set, rep openapi.ReplayReport) {
	fmt.Fprintf(w, "%s: %d lines, %d mutations, %d answered 2xx", logFile, rep.Lines, rep.Mutations, rep.Successful)
	if rep.Skipped > 0 {
		fmt.Fprintf(w, "; %d lines are no request (first: line %d)", rep.Skipped, rep.FirstSkip)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nEVENTS\tORGS\tTRIGGER")
	silent := 0
	for _, tc := range rep.Triggers {
		t := tc.Trigger
		if tc.Events == 0 && tc.FromHeader == 0 {
			silent++
			continue
		}
		note := ""
		if tc.FromHeader > 0 {
			note = fmt.Sprintf(" (+%d calls whose org is in the %s header, not in the log)", tc.FromHeader, strings.TrimPrefix(t.Org, "header:"))
		}
		fmt.Fprintf(tw, "%d\t%d\t%s  %s:%d %s %s%s\n", tc.Events, tc.Orgs, t.Event, set.File(), t.Line, t.Method, t.Path, note)
	}
	tw.Flush()
	if silent > 0 {
		fmt.Fprintf(w, "%d of %d triggers would have fired nothing\n", silent, len(rep.Triggers))
	}
	if len(rep.Unmatched) == 0 {
		fmt.Fprintln(w, "every 2xx mutation matched a trigger")
		return
	}
	n := 0
	for _, u := range rep.Unmatched {
		n += u.Count
	}
	fmt.Fprintf(w, "\n%d 2xx mutations matched no trigger (draft event names):\n", n)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, u := range rep.Unmatched {
		fmt.Fprintf(tw, "%d\t%s %s\t%s\n", u.Count, u.Method, u.Path, u.Event)
	}
	tw.Flush()
}
