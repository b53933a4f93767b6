package auth

import (
	"encoding/json"
	"strings"
)

// Bounds of describeShape: whatever an upstream sends, the description stays short and
// costs little (at most shapeMaxKeys keys per object, one item per array, shapeMaxDepth
// levels, and nothing more once shapeMaxLen bytes are written).
const (
	shapeMaxDepth  = 6
	shapeMaxKeys   = 8
	shapeMaxLen    = 400
	shapeMaxKeyLen = 32
)

// describeShape prints the structure of a decoded JSON value — object keys and JSON types —
// and never a value: `{"data": [ {"org": {"id": string}, "role": null} ]}`. Keys are the
// schema and are printed, except keys that do not look like field names (longer than
// shapeMaxKeyLen, or other than [A-Za-z_][A-Za-z0-9_-]*): maps keyed by data such as
// emails or IDs show <key> instead. Objects list their first keys in sorted order; arrays
// show their first item.
func describeShape(v any) string {
	var b strings.Builder
	writeShape(&b, v, 0)
	if b.Len() > shapeMaxLen {
		return b.String()[:shapeMaxLen] + "…" // the text is ASCII: any byte is a boundary
	}
	return b.String()
}

func writeShape(b *strings.Builder, v any, depth int) {
	if b.Len() > shapeMaxLen {
		return
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString("bool")
	case string:
		b.WriteString("string")
	case json.Number:
		if isInteger(string(x)) {
			b.WriteString("integer")
		} else {
			b.WriteString("number")
		}
	case []any:
		writeArrayShape(b, x, depth)
	case map[string]any:
		writeObjectShape(b, x, depth)
	default:
		b.WriteString("?")
	}
}

func writeArrayShape(b *strings.Builder, a []any, depth int) {
	switch {
	case len(a) == 0:
		b.WriteString("[]")
	case depth >= shapeMaxDepth:
		b.WriteString("[…]")
	default:
		b.WriteString("[ ")
		writeShape(b, a[0], depth+1)
		b.WriteString(" ]")
	}
}

func writeObjectShape(b *strings.Builder, o map[string]any, depth int) {
	switch {
	case len(o) == 0:
		b.WriteString("{}")
		return
	case depth >= shapeMaxDepth:
		b.WriteString("{…}")
		return
	}
	keys := smallestKeys(o, shapeMaxKeys)
	b.WriteString("{")
	for i, k := range keys {
		if b.Len() > shapeMaxLen {
			return
		}
		if i > 0 {
			b.WriteString(", ")
		}
		if fieldName(k) {
			b.WriteString(`"` + k + `": `)
		} else {
			b.WriteString("<key>: ")
		}
		writeShape(b, o[k], depth+1)
	}
	if len(o) > len(keys) {
		b.WriteString(", …")
	}
	b.WriteString("}")
}

// smallestKeys returns the n smallest keys of o, sorted, in one pass (objects may be huge).
func smallestKeys(o map[string]any, n int) []string {
	keys := make([]string, 0, n+1)
	for k := range o {
		if len(keys) == n && k >= keys[n-1] {
			continue
		}
		i := len(keys)
		keys = append(keys, k)
		for ; i > 0 && keys[i-1] > k; i-- {
			keys[i] = keys[i-1]
		}
		keys[i] = k
		if len(keys) > n {
			keys = keys[:n]
		}
	}
	return keys
}

// fieldName reports whether k looks like a field name rather than data.
func fieldName(k string) bool {
	if k == "" || len(k) > shapeMaxKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case (c >= '0' && c <= '9' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

func isInteger(s string) bool {
	s = strings.TrimPrefix(s, "-")
	return s != "" && strings.Trim(s, "0123456789") == ""
}
