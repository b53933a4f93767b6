package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/syncgate/syncgate/gateway"
)

// gatewayFlagSet returns a FlagSet defining every gateway flag with its default, so that
// `help flags` is generated from the definitions and cannot drift from them.
var gatewayFlagSet = func() (*flag.FlagSet, error) {
	c := gateway.DefaultConfig()
	fs, _ := gateway.NewFlagSet(&c)
	return fs, nil
}

// runHelp is `syncgate help [COMMAND | flags]`.
func runHelp(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || wantsHelp(args[:1]) {
		printCommands(stdout)
		return nil
	}
	if len(args) > 1 {
		return exitError{code: 2, msg: "usage: syncgate help [COMMAND | flags]"}
	}
	if args[0] == "flags" {
		fs, err := gatewayFlagSet()
		if err != nil {
			return fmt.Errorf("help flags: %w", err)
		}
		fmt.Fprint(stdout, flagTable(fs))
		return nil
	}
	cmd, ok := findCommand(args[0])
	if !ok {
		return unknownCommand(args[0], stderr)
	}
	return commandHelp(cmd, stdout)
}

// printCommands writes the list of commands, one line each, by group.
func printCommands(w io.Writer) {
	fmt.Fprint(w, "usage: syncgate [COMMAND] [ARGS]\n\nWith no command, or a flag first, syncgate runs the gateway (run).\n")
	cmds := commands()
	width := len("--version")
	for _, c := range cmds {
		width = max(width, len(c.name))
	}
	group := ""
	for _, c := range cmds {
		if c.group != group {
			group = c.group
			fmt.Fprintf(w, "\n%s:\n", group)
		}
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprintf(w, "  %-*s  %s\n", width, "--version", "the same as version")
	fmt.Fprint(w, "\n`syncgate help COMMAND` prints a command's usage; `syncgate help flags` every gateway flag.\n")
}

// commandHelp prints a command's usage line and summary, then its flags from the command
// itself (its -h), so they are never restated here.
func commandHelp(c command, stdout io.Writer) error {
	fmt.Fprintf(stdout, "usage: syncgate %s\n\n%s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	if c.name == "run" {
		return gatewayHelp(stdout)
	}
	if !c.selfHelp {
		return nil
	}
	fmt.Fprintln(stdout)
	// check, match and suggest write their usage to the writer given; conformance and
	// demo-api take none and write to the process's stderr.
	if err := c.run([]string{"-h"}, stdout, stdout); err != nil && !errors.Is(err, flag.ErrHelp) {
		return err
	}
	return nil
}

// gatewayHelp prints the gateway's flags.
func gatewayHelp(stdout io.Writer) error {
	fmt.Fprintf(stdout, "\nEvery flag has an environment twin: --upstream = %s. `syncgate help flags` prints them as a Markdown table.\n\n", gateway.EnvName("upstream"))
	fs, err := gatewayFlagSet()
	if err != nil {
		return err
	}
	fs.SetOutput(stdout)
	fs.PrintDefaults()
	return nil
}

// unknownCommand says so with the list of commands and ends syncgate with exit code 2.
func unknownCommand(name string, stderr io.Writer) error {
	fmt.Fprintf(stderr, "syncgate: unknown command %q\n\n", name)
	printCommands(stderr)
	return exitError{code: 2}
}

// runVersion is `syncgate version` and `syncgate --version`.
func runVersion(args []string, stdout, _ io.Writer) error {
	if len(args) > 0 {
		return exitError{code: 2, msg: "usage: syncgate version"}
	}
	info, _ := debug.ReadBuildInfo() // nil when the binary carries none
	fmt.Fprint(stdout, versionText(info))
	return nil
}

// versionText: "syncgate VERSION" (the main module's version: a tag, a pseudo-version from
// the commit, or "(devel)" when the go command knew none), then the vcs.revision, vcs.time
// and vcs.modified it stamped (absent with -buildvcs=false or outside a checkout), and the Go
// version. info is nil when the binary carries no build information.
func versionText(info *debug.BuildInfo) string {
	if info == nil {
		return fmt.Sprintf("syncgate (unknown: no build information)\ngo: %s\n", runtime.Version())
	}
	var b strings.Builder
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	fmt.Fprintf(&b, "syncgate %s\n", v)
	for _, key := range []string{"vcs.revision", "vcs.time", "vcs.modified"} {
		for _, s := range info.Settings {
			if s.Key == key && s.Value != "" {
				fmt.Fprintf(&b, "%s: %s\n", strings.TrimPrefix(key, "vcs."), s.Value)
			}
		}
	}
	goVersion := info.GoVersion
	if goVersion == "" {
		goVersion = runtime.Version()
	}
	fmt.Fprintf(&b, "go: %s\n", goVersion)
	return b.String()
}

// flagTableHeader is the header row of the flag table; the README test finds the table by it.
const flagTableHeader = "| flag | environment | default | meaning |"

// flagTable renders every flag of fs as a Markdown table: name, environment twin, default
// and usage, in the FlagSet's (alphabetical) order.
func flagTable(fs *flag.FlagSet) string {
	var b strings.Builder
	b.WriteString(flagTableHeader + "\n|---|---|---|---|\n")
	fs.VisitAll(func(f *flag.Flag) {
		def := "(empty)"
		if f.DefValue != "" {
			def = mdCode(f.DefValue)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdCode("--"+f.Name), mdCode(gateway.EnvName(f.Name)), def, mdCell(f.Usage))
	})
	return b.String()
}

// mdCell makes s safe inside a table cell: one line, pipes escaped (GFM reads \| as a pipe
// even inside code spans).
func mdCell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// mdCode is s as a code span in a table cell; a value holding a backquote gets a double one.
func mdCode(s string) string {
	if strings.Contains(s, "`") {
		return "`` " + mdCell(s) + " ``"
	}
	return "`" + mdCell(s) + "`"
}
