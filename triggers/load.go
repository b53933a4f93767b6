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
)

// MaxFileSize is the largest trigger file accepted.
const MaxFileSize = 1 << 20

// Load reads and parses the trigger file at path. A file that can't be read
// gives a plain wrapped error; a file with wrong content gives an *Error
// (errors.Is(err, ErrInvalid)) naming FILE:LINE for every problem.
func Load(path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("triggers: open trigger file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("triggers: read %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse parses a trigger file's content; filename only labels problems.
// It reports all problems found, not just the first.
func Parse(filename string, data []byte) (*Set, error) {
	p := &parser{file: filename}
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
	s.rooms, s.clientEvents = rooms, ces
	return s, nil
}

// parser collects problems while walking the YAML tree.
type parser struct {
	file     string
	problems []*Problem
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
			line++ // yaml.v3 counts lines from 0 for parser (not scanner) errors
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
