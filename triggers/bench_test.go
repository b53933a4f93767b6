package triggers

import (
	"fmt"
	"strings"
	"testing"
)

// benchFile builds a trigger file with n triggers over distinct resources.
func benchFile(n int) string {
	var b strings.Builder
	b.WriteString("triggers:\n")
	methods := []string{"POST", "PUT", "PATCH", "DELETE"}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - event: res%d.changed\n    method: %s\n    path: /orgs/{orgId}/res%d/{id}/sub/{subId}\n",
			i, methods[i%len(methods)], i/len(methods))
	}
	b.WriteString("  - event: personview.addrow\n    method: PUT\n    path: /orgs/{orgId}/people/views/{viewId}/rows/{personId}\n")
	return b.String()
}

func BenchmarkMatch500(b *testing.B) {
	set := mustParse(b, benchFile(500))
	b.ReportAllocs()
	for b.Loop() {
		if ev := set.Match("PUT", "/orgs/1/people/views/2/rows/3", nil, nil); len(ev) != 1 {
			b.Fatalf("got %d events", len(ev))
		}
	}
}

func BenchmarkMatchMiss500(b *testing.B) {
	set := mustParse(b, benchFile(500))
	b.ReportAllocs()
	for b.Loop() {
		if ev := set.Match("PUT", "/orgs/1/nothing/2/rows/3", nil, nil); ev != nil {
			b.Fatal("unexpected match")
		}
	}
}

func BenchmarkNeedsBody500(b *testing.B) {
	set := mustParse(b, benchFile(500)+"  - event: p.created\n    method: POST\n    path: /orgs/{orgId}/people\n    from_response:\n      id: data.id\n")
	b.ReportAllocs()
	for b.Loop() {
		if !set.NeedsBody("POST", "/orgs/1/people") {
			b.Fatal("want NeedsBody")
		}
	}
}
