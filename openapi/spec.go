package openapi

import (
	"fmt"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/syncgate/syncgate/triggers"
)

// Extensions an operation may carry.
const (
	ExtEvent  = "x-syncgate-event"  // the event name, overriding the operationId rule
	ExtIgnore = "x-syncgate-ignore" // true: a deliberate gap, no trigger wanted
)

// methodOrder is the order of an operation's methods within one path.
var methodOrder = []string{"POST", "PUT", "PATCH", "DELETE"}

// Spec is the mutating operations of an OpenAPI document.
type Spec struct {
	File       string      // the document's file name, as given
	Title      string      // info.title and info.version
	Operations []Operation // POST, PUT, PATCH and DELETE, by path then method
}

// Operation is one mutating operation of the document.
type Operation struct {
	Method      string
	Path        string // as the document writes it: /orgs/{orgId}/people/{person-id}
	OperationID string
	Line        int // line of the operation in the document; 0 when unknown (JSON)
	// Template is Path as a trigger path: each {name} renamed to a valid placeholder
	// name ([A-Za-z_][A-Za-z0-9_]{0,63}, other characters become _). "" when the path
	// cannot be one; Problem then says why.
	Template string
	Problem  string
	Event    string // x-syncgate-event, "" when absent
	Ignore   bool   // x-syncgate-ignore: true
	// CreatedID is the dotted path (data.id) to an id-like property of the 201 answer's
	// JSON schema, "" when there is none.
	CreatedID string
	// CreatedKey is the payload key for CreatedID: the placeholder the document names the
	// collection's items with (POST /people beside /people/{personId}: personId), else
	// triggers.IDName of the last literal segment.
	CreatedKey string
}

// Label is "METHOD PATH (operationId)", or without the operationId when it has none.
func (o Operation) Label() string {
	s := o.Method + " " + o.Path
	if o.OperationID != "" {
		s += " (" + o.OperationID + ")"
	}
	return s
}

// Sample is a call of the operation's shape: its template with every placeholder an ID
// ("1", valid in either org ID format), for the trigger matcher.
func (o Operation) Sample() string {
	segs := strings.Split(o.Template, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = "1"
		}
	}
	return strings.Join(segs, "/")
}

// Load reads an OpenAPI 3.0 or 3.1 document (YAML or JSON). External $refs are not
// followed: the document is one file.
func Load(path string) (*Spec, error) {
	loader := openapi3.NewLoader()
	loader.IncludeOrigin = true // operation lines, for CI annotations
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("openapi: load %s: %w", path, err)
	}
	if v := doc.OpenAPI; !strings.HasPrefix(v+".", "3.0.") && !strings.HasPrefix(v+".", "3.1.") {
		return nil, fmt.Errorf("openapi: %s: openapi %q: want a 3.0 or 3.1 document", path, doc.OpenAPI)
	}
	s := &Spec{File: path}
	if doc.Info != nil {
		s.Title = strings.TrimSpace(doc.Info.Title + " " + doc.Info.Version)
	}
	if doc.Paths == nil {
		return s, nil
	}
	paths := doc.Paths.Map()
	siblings := idPlaceholders(paths)
	for _, p := range sortedKeys(paths) {
		ops := paths[p].Operations()
		for _, m := range methodOrder {
			if op := ops[m]; op != nil {
				s.Operations = append(s.Operations, operation(m, p, op, siblings))
			}
		}
	}
	return s, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// operation reads one operation.
func operation(method, path string, op *openapi3.Operation, siblings map[string]string) Operation {
	o := Operation{Method: method, Path: path, OperationID: op.OperationID}
	if op.Origin != nil && op.Origin.Key != nil {
		o.Line = op.Origin.Key.Line
	}
	o.Template, o.Problem = template(path)
	if v, ok := op.Extensions[ExtEvent].(string); ok {
		o.Event = strings.TrimSpace(v)
	}
	if v, ok := op.Extensions[ExtIgnore].(bool); ok {
		o.Ignore = v
	}
	if o.Template != "" && (method == "POST" || method == "PUT") {
		o.CreatedID = createdID(op)
	}
	if o.CreatedID != "" {
		o.CreatedKey = createdKey(o.Template, siblings)
	}
	return o
}

// template turns an OpenAPI path into a trigger path, or says why it cannot be one.
func template(path string) (string, string) {
	segs := strings.Split(path, "/")
	used := map[string]bool{}
	for i, s := range segs {
		inner, whole := strings.CutPrefix(s, "{")
		if whole {
			inner, whole = strings.CutSuffix(inner, "}")
		}
		switch {
		case whole && !strings.ContainsAny(inner, "{}"):
			name := placeholder(inner)
			for used[name] {
				name += "2"
			}
			used[name] = true
			segs[i] = "{" + name + "}"
		case strings.ContainsAny(s, "{}"):
			return "", fmt.Sprintf("segment %q is not a whole {name} placeholder: trigger paths match whole segments", s)
		}
	}
	t := strings.Join(segs, "/")
	if err := triggers.CheckTemplate(t); err != nil {
		return "", err.Error()
	}
	return t, ""
}

// placeholder makes an OpenAPI parameter name a valid placeholder name: person-id →
// person_id, 1st → _1st.
func placeholder(name string) string {
	if triggers.ValidPlaceholder(name) {
		return name
	}
	var b strings.Builder
	for _, c := range name {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	out := b.String()
	if out == "" || out[0] >= '0' && out[0] <= '9' {
		out = "_" + out
	}
	if len(out) > 64 {
		out = out[:64]
	}
	return out
}

// idPlaceholders maps each collection path to the placeholder the document names its
// items with: /orgs/{orgId}/people → personId when /orgs/{orgId}/people/{personId} exists.
func idPlaceholders(paths map[string]*openapi3.PathItem) map[string]string {
	out := map[string]string{}
	for _, p := range sortedKeys(paths) {
		t, problem := template(p)
		if problem != "" {
			continue
		}
		i := strings.LastIndexByte(t, '/')
		last := t[i+1:]
		if i <= 0 || !strings.HasPrefix(last, "{") {
			continue
		}
		if _, seen := out[t[:i]]; !seen {
			out[t[:i]] = strings.Trim(last, "{}")
		}
	}
	return out
}

// createdKey names the payload key of a created resource's ID, or "" when that name is
// already a placeholder of the path (the trigger file would refuse it).
func createdKey(tmpl string, siblings map[string]string) string {
	key := siblings[tmpl]
	if key == "" {
		last := ""
		for _, s := range strings.Split(tmpl, "/") {
			if s != "" && !strings.HasPrefix(s, "{") {
				last = s
			}
		}
		if last == "" {
			return ""
		}
		key = placeholder(triggers.IDName(last))
	}
	if strings.Contains(tmpl, "{"+key+"}") {
		return ""
	}
	return key
}
