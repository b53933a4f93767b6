package triggers

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
)

// lazyJSON decodes a response body at most once, on first lookup.
type lazyJSON struct {
	raw    []byte
	done   bool
	ok     bool
	parsed any
}

func (l *lazyJSON) doc() (any, bool) {
	if !l.done {
		l.done = true
		l.parsed, l.ok = decodeJSON(l.raw)
	}
	return l.parsed, l.ok
}

// decodeJSON decodes exactly one JSON value, numbers kept as json.Number.
func decodeJSON(raw []byte) (any, bool) {
	if len(raw) == 0 {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false // trailing data: not one JSON document
	}
	return v, true
}

// lookup follows a dotted path (object keys, or decimal indexes into arrays)
// and returns the ID found there. Only non-negative integer numbers and
// ID-like strings count; anything else (objects, arrays, bools, null,
// fractions, exponents, negatives, missing) reports false.
func (l *lazyJSON) lookup(path []string) (any, bool) {
	cur, ok := l.walk(path)
	if !ok {
		return nil, false
	}
	switch v := cur.(type) {
	case json.Number:
		if s := string(v); allDigits(s) && len(s) <= maxIDLen {
			return idValue(s), true
		}
	case string:
		if isID(v) {
			return idValue(v), true
		}
	}
	return nil, false
}

// walk follows a dotted path (object keys, or decimal indexes into arrays) and returns
// the value found there.
func (l *lazyJSON) walk(path []string) (any, bool) {
	cur, ok := l.doc()
	if !ok {
		return nil, false
	}
	for _, key := range path {
		switch c := cur.(type) {
		case map[string]any:
			if cur, ok = c[key]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(c) || !allDigits(key) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// numberText returns the text of a JSON number decoded with UseNumber.
func numberText(v any) (string, bool) {
	n, ok := v.(json.Number)
	return string(n), ok
}
