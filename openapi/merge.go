package openapi

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/syncgate/syncgate/triggers"
)

// Merge adds to an existing trigger file (its content, parsed as set) what the document
// has and the file does not: a trigger for each org operation no trigger of the file
// matches, and an ignore: entry for each operation outside orgs that nothing matches or
// ignores. Everything else in the file stays byte for byte, hand edits and comments
// included; new items go at the end of their list. A file that already covers the
// document comes back unchanged. The file's org_param is used; o.OrgParam, when set,
// must name the same placeholder.
func Merge(s *Spec, existing []byte, set *triggers.Set, o Options) ([]byte, Summary, error) {
	orgParam := set.OrgParam()
	if o.OrgParam != "" && o.orgParam() != orgParam {
		return nil, Summary{}, fmt.Errorf("openapi: merge: --org-param %s, but %s names the org {%s}", o.orgParam(), set.File(), orgParam)
	}
	p, err := makePlan(s, orgParam)
	if err != nil {
		return nil, Summary{}, err
	}
	var sum Summary
	sum.Skipped = len(p.skipped)
	covered := func(op Operation) bool {
		_, ignored := set.Ignores(op.Method, op.Sample())
		return ignored || len(set.Matching(op.Method, op.Sample())) > 0
	}
	var newEntries []entry
	for _, e := range p.entries {
		if covered(e.op) {
			sum.Kept++
			continue
		}
		newEntries = append(newEntries, e)
	}
	var newOutside []Operation
	for _, op := range p.outside {
		if covered(op) {
			sum.Kept++
			continue
		}
		newOutside = append(newOutside, op)
	}
	sum.Triggers, sum.Outside = len(newEntries), len(newOutside)
	if len(newEntries) == 0 && len(newOutside) == 0 {
		return existing, sum, nil
	}
	out, err := insert(existing, newEntries, newOutside, orgParam)
	if err != nil {
		return nil, Summary{}, fmt.Errorf("openapi: merge into %s: %w", set.File(), err)
	}
	return out, sum, nil
}

// textFile is a file as lines, each with its newline.
type textFile struct{ lines []string }

func splitLines(data []byte) *textFile {
	var lines []string
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			lines = append(lines, string(data)+"\n")
			break
		}
		lines = append(lines, string(data[:i+1]))
		data = data[i+1:]
	}
	return &textFile{lines: lines}
}

// insertAfter puts text after line n (1-based; 0: at the top).
func (f *textFile) insertAfter(n int, text string) {
	add := splitLines([]byte(text)).lines
	f.lines = append(f.lines[:n], append(add, f.lines[n:]...)...)
}

// emptyFlowList matches a key with an empty flow list: "triggers: []".
var emptyFlowList = regexp.MustCompile(`^(\w+):\s*\[\]\s*(#.*)?\n$`)

// insert adds the new triggers at the end of triggers: and the new ignore entries at the
// end of ignore: (a new ignore: at the end of the file when there is none), working from
// the bottom of the file up so that the line numbers found stay right.
func insert(data []byte, entries []entry, outside []Operation, orgParam string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("not a trigger file")
	}
	root := doc.Content[0]
	f := splitLines(data)
	type edit struct {
		key  string
		text func(indent string) string
	}
	var edits []edit
	if len(entries) > 0 {
		edits = append(edits, edit{"triggers", func(indent string) string {
			var b strings.Builder
			for _, e := range entries {
				b.WriteString(renderTrigger(e, indent))
			}
			return b.String()
		}})
	}
	if len(outside) > 0 {
		edits = append(edits, edit{"ignore", func(indent string) string {
			var b strings.Builder
			for _, op := range outside {
				b.WriteString(renderIgnore(op, orgParam, indent))
			}
			return b.String()
		}})
	}
	// The later list in the file is edited first, so the lines found for the other stay
	// right; a missing ignore: is appended last, after every line was found.
	pos := func(key string) int { return keyIndex(root, key) }
	slices.SortFunc(edits, func(a, b edit) int { return pos(b.key) - pos(a.key) })
	for _, e := range edits {
		if err := f.appendToList(root, e.key, e.text, orgParam); err != nil {
			return nil, err
		}
	}
	return []byte(strings.Join(f.lines, "")), nil
}

// keyIndex returns the index in root.Content of key's key node, or -1.
func keyIndex(root *yaml.Node, key string) int {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == key {
			return i
		}
	}
	return -1
}

// appendToList writes text(indent) at the end of the top-level list key.
func (f *textFile) appendToList(root *yaml.Node, key string, text func(string) string, orgParam string) error {
	i := keyIndex(root, key)
	if i < 0 {
		// Only ignore: may be missing (the loader requires triggers:); it goes last.
		f.trimTrailingBlank()
		f.insertAfter(len(f.lines), key+":\n"+outsideNote(orgParam, "  ")+text("  "))
		return nil
	}
	k, list := root.Content[i], root.Content[i+1]
	indent := "  "
	switch {
	case list.Kind == yaml.SequenceNode && list.Style&yaml.FlowStyle != 0:
		if len(list.Content) > 0 || !emptyFlowList.MatchString(f.lines[k.Line-1]) {
			return fmt.Errorf("line %d: write %s: as a block list (one \"- \" item per line) to merge into it", k.Line, key)
		}
		f.lines[k.Line-1] = key + ":\n"
		f.insertAfter(k.Line, text(indent))
		return nil
	case list.Kind == yaml.SequenceNode && len(list.Content) > 0:
		indent = strings.Repeat(" ", max(list.Content[0].Column-3, 0))
	case list.Kind == yaml.ScalarNode && list.Tag == "!!null":
	default:
		return fmt.Errorf("line %d: %s: is not a list", k.Line, key)
	}
	f.insertAfter(f.blockEnd(root, i, k.Line), text(indent))
	return nil
}

// blockEnd is the last line (1-based) of the top-level key at index i whose key is on
// line start: the line before the next top-level key, or the end of the file, less the
// blank lines and column-0 comments just before it (they head what follows).
func (f *textFile) blockEnd(root *yaml.Node, i, start int) int {
	end := len(f.lines)
	if i+2 < len(root.Content) {
		end = root.Content[i+2].Line - 1
	}
	for end > start {
		l := f.lines[end-1]
		if strings.TrimSpace(l) != "" && !strings.HasPrefix(l, "#") {
			break
		}
		end--
	}
	return end
}

func (f *textFile) trimTrailingBlank() {
	for len(f.lines) > 0 && strings.TrimSpace(f.lines[len(f.lines)-1]) == "" {
		f.lines = f.lines[:len(f.lines)-1]
	}
}
