package orgid

import (
	"encoding/json"
	"testing"
)

func TestCanonical(t *testing.T) {
	for _, c := range []struct {
		f       Format
		in, out string
		ok      bool
	}{
		{Text, "7", "7", true},
		{Text, "007", "007", true}, // text compares exactly: "007" is not "7"
		{Text, "acme-corp", "acme-corp", true},
		{Text, "3f6c1a52-9a0e-4c1e-8f36-2b0d4c9e1a77", "3f6c1a52-9a0e-4c1e-8f36-2b0d4c9e1a77", true},
		{Text, "", "", false},
		{Text, "a/b", "", false},
		{Text, "a:b", "", false},
		{Text, "{a}", "", false},
		{Text, "a b", "", false},
		{Text, string(make([]byte, 65)), "", false},
		{Integer, "7", "7", true},
		{Integer, "007", "7", true},
		{Integer, "0", "0", true},
		{Integer, "acme", "", false},
		{Integer, "1234567890123456789", "", false}, // 19 digits
		{Integer, "-1", "", false},
	} {
		got, ok := c.f.Canonical(c.in)
		if got != c.out || ok != c.ok {
			t.Errorf("%s.Canonical(%q) = %q, %v; want %q, %v", c.f, c.in, got, ok, c.out, c.ok)
		}
	}
	if Integer.Valid("007") || !Integer.Valid("7") || !Text.Valid("007") {
		t.Error("Valid must accept canonical forms only")
	}
}

func TestFromJSON(t *testing.T) {
	for _, c := range []struct {
		f   Format
		raw string
		out string
		ok  bool
	}{
		{Text, `7`, "7", true},
		{Text, `"7"`, "7", true},
		{Text, `"acme"`, "acme", true},
		{Text, `"a/b"`, "", false},
		{Text, `1.0`, "", false},
		{Text, `1e3`, "", false},
		{Text, `-1`, "", false},
		{Text, `07`, "", false},
		{Text, `null`, "", false},
		{Text, `true`, "", false},
		{Text, `{"id":1}`, "", false},
		{Integer, `7`, "7", true},
		{Integer, `"7"`, "", false},
		{Integer, `12345678901234567890`, "", false},
	} {
		got, ok := c.f.FromJSON(json.RawMessage(c.raw))
		if got != c.out || ok != c.ok {
			t.Errorf("%s.FromJSON(%s) = %q, %v; want %q, %v", c.f, c.raw, got, ok, c.out, c.ok)
		}
	}
}

func TestParseFormat(t *testing.T) {
	if f, err := ParseFormat("integer"); err != nil || f != Integer {
		t.Fatal(f, err)
	}
	if f, err := ParseFormat("text"); err != nil || f != Text {
		t.Fatal(f, err)
	}
	if _, err := ParseFormat("uuid"); err == nil {
		t.Fatal("uuid accepted")
	}
}
