package examples_test

import (
	"io/fs"
	"net/http"
	"reflect"
	"testing"

	"github.com/syncgate/syncgate/examples"
	"github.com/syncgate/syncgate/triggers"
)

func TestEveryExampleParses(t *testing.T) {
	names, err := fs.Glob(examples.Files, "*.yaml")
	if err != nil || len(names) == 0 {
		t.Fatalf("no embedded examples (%v)", err)
	}
	for _, name := range names {
		data, err := examples.Files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		set, err := triggers.Parse(name, data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if set.Len() == 0 {
			t.Errorf("%s has no triggers", name)
		}
	}
}

// TestZetkinPoCEvents checks the PoC's two events keep their names and payload.
func TestZetkinPoCEvents(t *testing.T) {
	set, err := triggers.Parse("zetkin-poc.yaml", examples.ZetkinPoC())
	if err != nil {
		t.Fatal(err)
	}
	for method, name := range map[string]string{"PUT": "personview.addrow", "DELETE": "personview.deleterow"} {
		got := set.Match(method, "/orgs/1/people/views/2/rows/3", nil, nil)
		want := []triggers.Event{{Org: "1", Name: name, Data: map[string]any{"viewId": int64(2), "personId": int64(3)}}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v, want %#v", method, got, want)
		}
	}
	got := set.Match("PATCH", "/tasks/5", http.Header{"X-Org-Id": {"1"}}, nil)
	if len(got) != 1 || got[0].Org != "1" || got[0].Name != "task.updated" {
		t.Errorf("org-less task update: got %#v", got)
	}
	got = set.Match("POST", "/orgs/1/people", nil, []byte(`{"data":{"id":9,"first_name":"Clara"}}`))
	if len(got) != 1 || !reflect.DeepEqual(got[0].Data, map[string]any{"personId": int64(9)}) {
		t.Errorf("person.created: got %#v", got)
	}
}
