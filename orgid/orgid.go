package orgid

import (
	"encoding/json"
	"fmt"
)

// Format is how the upstream API spells its organization IDs.
//
// Text (the default) accepts any [A-Za-z0-9_-]{1,64} string — slugs, UUIDs, numbers —
// and compares by exact text: "007" and "7" are two organizations. Integer accepts only
// decimal numbers of at most 18 digits and reads a path segment "007" as org "7", which
// is how an API with integer IDs reads it; memberships must then carry JSON numbers.
type Format int

const (
	Text Format = iota
	Integer
)

// MaxLen is the longest org ID in either format.
const MaxLen = 64

const maxDigits = 18 // Integer: always fits in int64

// ParseFormat reads "text" or "integer" (the --org-id-format values).
func ParseFormat(s string) (Format, error) {
	switch s {
	case "text", "":
		return Text, nil
	case "integer":
		return Integer, nil
	}
	return Text, fmt.Errorf("org ID format must be text or integer, got %q", s)
}

func (f Format) String() string {
	if f == Integer {
		return "integer"
	}
	return "text"
}

// Describe is the format's shape for error messages.
func (f Format) Describe() string {
	if f == Integer {
		return "a decimal number of at most 18 digits"
	}
	return "[A-Za-z0-9_-]{1,64} (a slug, UUID or number)"
}

// Valid reports whether s is an org ID in its canonical form: what namespaces, caches and
// Redis keys hold. It never contains '/', ':', '{', '}', whitespace or anything to escape.
func (f Format) Valid(s string) bool {
	c, ok := f.Canonical(s)
	return ok && c == s
}

// Canonical reads an org ID as a request names it (a path segment, a header, a trigger
// file value) and returns its canonical form. Text: s itself when it is a valid ID.
// Integer: the number without leading zeros.
func (f Format) Canonical(s string) (string, bool) {
	if f == Integer {
		if len(s) == 0 || len(s) > maxDigits || !allDigits(s) {
			return "", false
		}
		for len(s) > 1 && s[0] == '0' {
			s = s[1:]
		}
		return s, true
	}
	if !textID(s) {
		return "", false
	}
	return s, true
}

// FromJSON reads an org ID from a JSON value of an upstream answer: a JSON string (Text
// only) or a JSON integer (digits only: no sign, fraction or exponent). Compared by text,
// the number 7 and the string "7" are the same org.
func (f Format) FromJSON(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 {
		return "", false
	}
	if raw[0] == '"' {
		if f == Integer {
			return "", false
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false
		}
		if !textID(s) {
			return "", false
		}
		return s, true
	}
	s := string(raw)
	if !allDigits(s) || (len(s) > 1 && s[0] == '0') {
		return "", false
	}
	if f == Integer && len(s) > maxDigits {
		return "", false
	}
	if len(s) > MaxLen {
		return "", false
	}
	return s, true
}

// Any reports whether s is a valid org ID in some format: [A-Za-z0-9_-]{1,64}.
func Any(s string) bool { return textID(s) }

func textID(s string) bool {
	if len(s) == 0 || len(s) > MaxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
