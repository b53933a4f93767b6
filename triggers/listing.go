package triggers

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Listing: what a set declares, for the tools that compare it with an API description or
// with traffic (syncgate coverage and replay), through the same matcher as Match.

// Trigger describes one trigger of a set as its file declares it.
type Trigger struct {
	Line   int    // its line in the file
	Event  string // the event it fires
	Method string
	Path   string // the path template, normalized: /orgs/{orgId}/people/{personId}
	// Org says where the org comes from: "{NAME}" (a path placeholder), "header:NAME" or a
	// fixed org ID.
	Org string
	// FromResponse lists its from_response keys, in file order.
	FromResponse []string
	// Coalesce is its coalesce: window, 0 when absent.
	Coalesce time.Duration
	// VersionFrom is its version_from: path, "" when absent.
	VersionFrom string
	// Meta lists its meta: items (request_id, etag).
	Meta []string
}

// OrgFromHeader reports whether the trigger reads its org from a request header.
func (t Trigger) OrgFromHeader() bool { return strings.HasPrefix(t.Org, "header:") }

// File returns the name the set's problems and warnings carry.
func (s *Set) File() string {
	if s == nil {
		return ""
	}
	return s.file
}

// Triggers lists the set's triggers in file order; Fired.Trigger and Matching index it.
func (s *Set) Triggers() []Trigger {
	if s == nil {
		return nil
	}
	out := make([]Trigger, len(s.triggers))
	for i, t := range s.triggers {
		out[i] = t.describe()
	}
	return out
}

func (t *trigger) describe() Trigger {
	d := Trigger{Line: t.line, Event: t.name, Method: t.method, Path: templateKey(t.segs)}
	switch t.orgKind {
	case orgFromPath:
		d.Org = "{" + t.orgName + "}"
	case orgFromHeader:
		d.Org = "header:" + t.orgHeader
	case orgFixed:
		d.Org = t.orgFixed
	}
	for _, fr := range t.fromResp {
		d.FromResponse = append(d.FromResponse, fr.key)
	}
	t.describeDelivery(&d)
	return d
}

// Fired is an event with the trigger that fired it.
type Fired struct {
	Trigger int // index into Triggers()
	Event   Event
}

// MatchTriggers is Match that also says which trigger fired each event.
func (s *Set) MatchTriggers(method, path string, reqHeader http.Header, respBody []byte) []Fired {
	idx, segs := s.candidates(method, path)
	if len(idx) == 0 {
		return nil
	}
	body := lazyJSON{raw: respBody}
	var out []Fired
	for _, i := range idx {
		if ev, ok := s.triggers[i].fire(s.ids, segs, reqHeader, nil, &body); ok {
			out = append(out, Fired{Trigger: i, Event: ev})
		}
	}
	return out
}

// Matching returns the indexes into Triggers(), in file order, of the triggers whose
// method and path shape match the call (path relative to the API prefix, escaped as
// sent), whatever its org: the triggers a call of that shape can fire.
func (s *Set) Matching(method, path string) []int {
	idx, _ := s.candidates(method, path)
	return idx
}

// Ignore is one entry of the file's ignore: list, a mutation that deliberately fires
// nothing: syncgate coverage does not ask for a trigger for it, and the gateway leaves it
// out of its table of unmatched mutations.
type Ignore struct {
	Line   int
	Method string
	Path   string // normalized template
}

// ignoreEntry is one validated entry of ignore:.
type ignoreEntry struct {
	line   int
	method string
	segs   []segment
}

// Ignored lists the file's ignore: entries in file order.
func (s *Set) Ignored() []Ignore {
	if s == nil {
		return nil
	}
	out := make([]Ignore, len(s.ignores))
	for i, e := range s.ignores {
		out[i] = Ignore{Line: e.line, Method: e.method, Path: templateKey(e.segs)}
	}
	return out
}

// Ignores returns the index into Ignored() of the first entry whose method and path
// shape match the call, and whether there is one.
func (s *Set) Ignores(method, path string) (int, bool) {
	if s == nil || len(s.ignores) == 0 {
		return 0, false
	}
	root := s.ignoreRoots[strings.ToUpper(method)]
	if root == nil {
		return 0, false
	}
	segs, ok := splitRequestPath(path)
	if !ok {
		return 0, false
	}
	idx := root.walk(segs, 0, nil)
	if len(idx) == 0 {
		return 0, false
	}
	first := idx[0]
	for _, i := range idx[1:] {
		first = min(first, i)
	}
	return first, true
}

func (s *Set) setIgnores(es []*ignoreEntry) {
	s.ignores = es
	s.ignoreRoots = map[string]*node{}
	for i, e := range es {
		root := s.ignoreRoots[e.method]
		if root == nil {
			root = &node{}
			s.ignoreRoots[e.method] = root
		}
		root.insert(e.segs, i)
	}
}

// ignoreList reads ignore:, a list of "METHOD /path/{template}" strings.
func (p *parser) ignoreList(n *yaml.Node) []*ignoreEntry {
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return nil
	case n.Kind != yaml.SequenceNode:
		if n.Kind != yaml.AliasNode {
			p.addf(n.Line, `ignore must be a list of "METHOD /path" strings`)
		}
		return nil
	}
	var out []*ignoreEntry
	seen := map[string]int{}
	for _, item := range n.Content {
		v, ok := p.scalar(item, "ignore entry")
		if !ok {
			continue
		}
		method, path, ok := strings.Cut(strings.TrimSpace(v), " ")
		path = strings.TrimSpace(path)
		if !ok || !mutating[method] || !strings.HasPrefix(path, "/") {
			p.addf(item.Line, `ignore entry %q: want "METHOD /path" with METHOD one of POST, PUT, PATCH, DELETE`, v)
			continue
		}
		segs, problems := parseTemplate(path)
		if len(problems) > 0 {
			p.addf(item.Line, "ignore entry %q: %s", v, strings.Join(problems, "; "))
			continue
		}
		key := fmt.Sprintf("%s %s", method, templateKey(segs))
		if first, dup := seen[key]; dup {
			p.addf(item.Line, "duplicate ignore entry %s (first at line %d)", key, first)
			continue
		}
		seen[key] = item.Line
		out = append(out, &ignoreEntry{line: item.Line, method: method, segs: segs})
	}
	return out
}

// CheckTemplate reports why path cannot be a trigger path (the rules of path:), or nil.
func CheckTemplate(path string) error {
	if _, problems := parseTemplate(path); len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// ValidPlaceholder reports whether name may be a placeholder's name
// ([A-Za-z_][A-Za-z0-9_]{0,63}).
func ValidPlaceholder(name string) bool { return placeholderName.MatchString(name) }
