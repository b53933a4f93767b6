package auth

import (
	"fmt"
	"strings"
	"testing"
)

func TestDescribeShape(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"items":[{"org":{"id":"x"},"role":"admin"}]}`, `{"items": [ {"org": {"id": string}, "role": string} ]}`},
		{`[1, "a"]`, `[ integer ]`},
		{`[]`, `[]`},
		{`{}`, `{}`},
		{`null`, `null`},
		{`{"a":true,"b":1.5,"c":-3,"d":null,"e":1e3}`, `{"a": bool, "b": number, "c": integer, "d": null, "e": number}`},
		{`{"j":1,"i":1,"h":1,"g":1,"f":1,"e":1,"d":1,"c":1,"b":1,"a":1}`, `{"a": integer, "b": integer, "c": integer, "d": integer, "e": integer, "f": integer, "g": integer, "h": integer, …}`},
		{`{"alice@example.com":1,"42":2,"snake_case":3,"kebab-case":4,"camelCase":5}`, `{<key>: integer, <key>: integer, "camelCase": integer, "kebab-case": integer, "snake_case": integer}`},
		{`[[[[[[[[1]]]]]]]]`, `[ [ [ [ [ [ […] ] ] ] ] ] ]`},
	} {
		doc, err := decodeJSON([]byte(c.in))
		if err != nil {
			t.Fatal(err)
		}
		if got := describeShape(doc); got != c.want {
			t.Errorf("describeShape(%s)\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

// Whatever the input, the description is short and holds no value.
func TestDescribeShape_BoundedAndValueFree(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 200 {
		fmt.Fprintf(&b, `"k%03d":{"a":{"b":{"c":"secret-%d","d":[{"e":"secret"}]}}},`, i, i)
	}
	b.WriteString(`"z":"secret"}`)
	doc, err := decodeJSON([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	got := describeShape(doc)
	if len(got) > shapeMaxLen+len("…") {
		t.Fatalf("description of %d bytes", len(got))
	}
	if strings.Contains(got, "secret") {
		t.Fatalf("description shows a value: %s", got)
	}
	if !strings.HasSuffix(got, "…") {
		t.Fatalf("a cut description must say so: %s", got)
	}
}

func TestSmallestKeys(t *testing.T) {
	o := map[string]any{}
	for _, k := range []string{"m", "c", "x", "a", "q", "b"} {
		o[k] = nil
	}
	if got := fmt.Sprint(smallestKeys(o, 3)); got != "[a b c]" {
		t.Fatalf("smallestKeys = %s", got)
	}
	if got := fmt.Sprint(smallestKeys(o, 10)); got != "[a b c m q x]" {
		t.Fatalf("smallestKeys = %s", got)
	}
}
