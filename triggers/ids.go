package triggers

import (
	"strconv"

	"github.com/syncgate/syncgate/orgid"
)

const (
	maxIDLen     = orgid.MaxLen // longest ID accepted in a path segment or response value
	maxNumDigits = 18           // longest number canonicalNumber accepts; always fits in int64
)

// isID reports whether s looks like an ID: [A-Za-z0-9_-]{1,64}, the alphabet of org IDs too.
func isID(s string) bool { return orgid.Any(s) }

// allDigits reports whether s is a non-empty run of ASCII decimal digits.
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

// idValue converts an ID-like string to its event data form: int64 when it is
// all digits and fits, else the string itself.
func idValue(s string) any {
	if allDigits(s) {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
	}
	return s
}

// idString is the canonical text of a value produced by idValue.
func idString(v any) string {
	switch v := v.(type) {
	case int64:
		return strconv.FormatInt(v, 10)
	case string:
		return v
	}
	return ""
}

// canonicalNumber validates a number of 1 to 18 digits and strips leading zeros, so
// "007" and "7" are the same ID. Org IDs do not use it: their format (orgid) decides.
func canonicalNumber(s string) (string, bool) {
	if len(s) == 0 || len(s) > maxNumDigits || !allDigits(s) {
		return "", false
	}
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s, true
}
