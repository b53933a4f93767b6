package openapi

import (
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// idNames are the property names taken for a created resource's ID, best first.
var idNames = []string{"id", "uuid", "_id"}

// maxIDDepth is how deep into the answer an ID is looked for: {"data": {"id": 1}} is 2.
const maxIDDepth = 3

// createdID returns the dotted path to an id-like property of the operation's 201 JSON
// answer, breadth first (a top-level id before data.id), or "".
func createdID(op *openapi3.Operation) string {
	if op.Responses == nil {
		return ""
	}
	ref := op.Responses.Status(201)
	if ref == nil || ref.Value == nil {
		return ""
	}
	schema := jsonSchema(ref.Value.Content)
	if schema == nil {
		return ""
	}
	type level struct {
		schema *openapi3.Schema
		path   []string
	}
	queue := []level{{schema, nil}}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		props := properties(cur.schema)
		for _, name := range idNames {
			if p := props[name]; p != nil && scalarID(p) {
				return strings.Join(append(slices.Clone(cur.path), name), ".")
			}
		}
		if len(cur.path)+1 >= maxIDDepth {
			continue
		}
		for _, name := range sortedKeys(props) {
			if p := props[name]; p != nil && len(properties(p)) > 0 {
				queue = append(queue, level{p, append(slices.Clone(cur.path), name)})
			}
		}
	}
	return ""
}

// jsonSchema returns the schema of the first JSON media type of content (by name).
func jsonSchema(content openapi3.Content) *openapi3.Schema {
	for _, mime := range sortedKeys(content) {
		if !strings.Contains(mime, "json") {
			continue
		}
		if mt := content[mime]; mt != nil && mt.Schema != nil && mt.Schema.Value != nil {
			return mt.Schema.Value
		}
	}
	return nil
}

// properties returns a schema's properties, with those of its allOf parts.
func properties(s *openapi3.Schema) map[string]*openapi3.Schema {
	out := map[string]*openapi3.Schema{}
	var walk func(s *openapi3.Schema, depth int)
	walk = func(s *openapi3.Schema, depth int) {
		if s == nil || depth > 8 {
			return
		}
		for name, ref := range s.Properties {
			if ref != nil && ref.Value != nil {
				out[name] = ref.Value
			}
		}
		for _, ref := range s.AllOf {
			if ref != nil {
				walk(ref.Value, depth+1)
			}
		}
	}
	walk(s, 0)
	return out
}

// scalarID reports whether a property can hold an ID: a string, an integer, or untyped.
func scalarID(s *openapi3.Schema) bool {
	if s.Type == nil || s.Type.IsEmpty() {
		return true
	}
	return s.Type.Permits("string") || s.Type.Permits("integer")
}
