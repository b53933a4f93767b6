package triggers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/syncgate/syncgate/orgid"
)

// MaxFileSize is the largest trigger file accepted.
const MaxFileSize = 1 << 20

// Options say how a trigger file is read.
type Options struct {
	// IDs is the upstream's org ID format: how org IDs in paths, headers and fixed
	// org: values are validated and made canonical. The zero value is orgid.Text.
	IDs orgid.Format
}

// Load reads and parses the trigger file at path with org IDs in the Text format.
// A file that can't be read gives a plain wrapped error; a file with wrong content
// gives an *Error (errors.Is(err, ErrInvalid)) naming FILE:LINE for every problem.
func Load(path string) (*Set, error) { return LoadWith(path, Options{}) }

// Parse parses a trigger file's content with org IDs in the Text format; filename
// only labels problems. It reports all problems found, not just the first.
func Parse(filename string, data []byte) (*Set, error) { return ParseWith(filename, data, Options{}) }

// LoadWith is Load with options.
func LoadWith(path string, o Options) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("triggers: open trigger file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("triggers: read %s: %w", path, err)
	}
	return ParseWith(path, data, o)
}

// ParseWith is Parse with options.
func ParseWith(filename string, data []byte, o Options) (*Set, error) {
	p := &parser{file: filename, ids: o.IDs, orgParam: DefaultOrgParam}
	if len(data) > MaxFileSize {
		p.addf(1, "file too large (%d bytes; the limit is %d)", len(data), MaxFileSize)
		return nil, p.err()
	}
	root, ok := p.decode(data)
	if !ok {
		return nil, p.err()
	}
	rejectAliases(p, root)
	ts, rooms, ces := p.document(root)
	if len(p.problems) > 0 {
		return nil, p.err()
	}
	s := newSet(ts)
	s.file, s.ids, s.orgParam = filename, o.IDs, p.orgParam
	s.rooms, s.clientEvents = rooms, ces
	s.setIgnores(p.ignores)
	return s, nil
}

// parser collects problems while walking the YAML tree.
type parser struct {
	file        string
	ids         orgid.Format
	orgParam    string         // the path placeholder that names the org (org_param:, default orgId)
	orgParamBad bool           // org_param: is wrong (reported): do not blame triggers for lacking it
	ignores     []*ignoreEntry // the ignore: list
	problems    []*Problem
}

func (p *parser) addf(line int, format string, args ...any) {
	if line < 1 {
		line = 1
	}
	p.problems = append(p.problems, &Problem{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) err() error {
	slices.SortStableFunc(p.problems, func(a, b *Problem) int { return a.Line - b.Line })
	return &Error{Problems: p.problems}
}

// yamlLine extracts "line N: " from a yaml.v3 syntax error.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decode parses the YAML document (exactly one) and returns its root node.
func (p *parser) decode(data []byte) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.addf(1, "file is empty; want a top-level triggers: key")
		} else {
			p.syntax(err, data)
		}
		return nil, false
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		p.syntax(err, data)
		return nil, false
	default:
		p.addf(extra.Line, "a second YAML document is not allowed")
		return nil, false
	}
	if len(doc.Content) != 1 {
		p.addf(doc.Line, "want a single top-level mapping")
		return nil, false
	}
	return doc.Content[0], true
}

// syntax records a YAML syntax error at its line (the last line for an
// unexpected end, else line 1 when the parser names none).
func (p *parser) syntax(err error, data []byte) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if isParserError(m[2]) {
			// yaml.v3 names the line (counted from 0) where the broken block starts, not
			// the line that broke it: a mis-indented key far below would be reported at
			// the top of the list. Find the offending line itself.
			start := line + 1
			if bad := offendingLine(data, msg); bad > 0 && bad != start {
				hint := "in the block that starts at line %d"
				if m[2] == "did not find expected key" || m[2] == "did not find expected '-' indicator" {
					hint = "check this line's indentation against the block that starts at line %d"
				}
				p.addf(bad, "YAML syntax error: %s ("+hint+")", m[2], start)
				return
			}
			p.addf(start, "YAML syntax error: %s", m[2])
			return
		}
		p.addf(line, "YAML syntax error: %s", m[2])
		return
	}
	line := 1
	if bytes.Contains([]byte(msg), []byte("end of stream")) {
		line = bytes.Count(data, []byte("\n")) + 1
	}
	p.addf(line, "YAML syntax error: %s", trimYAMLPrefix(msg))
}

// offendingLine returns the first line N such that the file's first N lines already fail
// with exactly the error msg: the line where the parser gave up. The parser stops at its
// first error and reads the file in order, so every longer prefix fails the same way and
// every shorter one does not (it parses, or ends in another error); a binary search over
// prefixes finds N in O(log lines) parses. It returns 0 if the search does not settle.
func offendingLine(data []byte, msg string) int {
	ends := lineEnds(data)
	fails := func(n int) bool {
		err := firstYAMLError(data[:ends[n-1]])
		return err != nil && err.Error() == msg
	}
	lo, hi := 1, len(ends)
	if !fails(hi) {
		return 0
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// lineEnds returns, for each line, the offset just past it (its newline included).
func lineEnds(data []byte) []int {
	var ends []int
	for i, c := range data {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != len(data) {
		ends = append(ends, len(data))
	}
	return ends
}

// firstYAMLError decodes up to two documents (as decode does) and returns the first
// syntax error.
func firstYAMLError(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for range 2 {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
	return nil
}

// yamlParserErrors are yaml.v3's parser-stage messages; it reports their
// line numbers 0-based, unlike its scanner-stage messages.
var yamlParserErrors = []string{
	"did not find expected <stream-start>",
	"did not find expected <document start>",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"found undefined tag handle",
	"found duplicate %YAML directive",
	"found duplicate %TAG directive",
	"found incompatible YAML document",
}

func isParserError(msg string) bool {
	return slices.Contains(yamlParserErrors, msg)
}

func trimYAMLPrefix(msg string) string {
	const prefix = "yaml: "
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		return msg[len(prefix):]
	}
	return msg
}

// rejectAliases reports every alias (*name): trigger files are flat and
// aliases only invite expansion bombs and merge-key surprises.
func rejectAliases(p *parser, n *yaml.Node) {
	if n.Kind == yaml.AliasNode {
		p.addf(n.Line, "aliases (*%s) are not supported", n.Value)
		return
	}
	for _, c := range n.Content {
		rejectAliases(p, c)
	}
}
