package openapi_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syncgate/syncgate/openapi"
	"github.com/syncgate/syncgate/triggers"
)

var update = flag.Bool("update", false, "rewrite the golden files under examples/openapi/testdata")

const dir = "../examples/openapi"

func load(t *testing.T, name string) *openapi.Spec {
	t.Helper()
	s, err := openapi.Load(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(dir, "testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test ./openapi/ -update rewrites it):\n%s", name, got)
	}
}

func parse(t *testing.T, name string, data []byte) *triggers.Set {
	t.Helper()
	set, err := triggers.Parse(name, data)
	if err != nil {
		t.Fatalf("%s does not load:\n%v", name, err)
	}
	return set
}

func TestSpecsAreRealistic(t *testing.T) {
	z := load(t, "zetkin-api.yaml")
	if len(z.Operations) < 40 {
		t.Errorf("zetkin-api.yaml has %d mutating operations, want 40 or more", len(z.Operations))
	}
	k := load(t, "kanban-api.json")
	if len(k.Operations) < 10 {
		t.Errorf("kanban-api.json has %d mutating operations", len(k.Operations))
	}
	for _, op := range z.Operations {
		if op.Line == 0 {
			t.Errorf("%s has no line", op.Label())
		}
	}
}

// Generation: golden files, loadable with no warnings, the same bytes on every run, and a
// merge into its own output that changes nothing.
func TestGenerateGoldenCheckAndRoundTrip(t *testing.T) {
	for _, c := range []struct {
		spec, golden, orgParam string
		triggers, outside      int
	}{
		{"zetkin-api.yaml", "zetkin-triggers.yaml", "", 35, 2},
		{"kanban-api.json", "kanban-triggers.yaml", "teamSlug", 9, 2},
	} {
		t.Run(c.spec, func(t *testing.T) {
			spec := load(t, c.spec)
			out, sum, err := openapi.Generate(spec, openapi.Options{OrgParam: c.orgParam})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, c.golden, out)
			if sum.Triggers != c.triggers || sum.Outside != c.outside {
				t.Errorf("summary %+v, want %d triggers and %d outside", sum, c.triggers, c.outside)
			}
			set := parse(t, c.golden, out)
			if set.Len() != c.triggers || len(set.Ignored()) != c.outside {
				t.Errorf("loaded %d triggers, %d ignores", set.Len(), len(set.Ignored()))
			}
			if w := set.Warnings(); len(w) > 0 {
				t.Errorf("warnings: %v", w)
			}
			again, _, _ := openapi.Generate(load(t, c.spec), openapi.Options{OrgParam: c.orgParam})
			if !bytes.Equal(out, again) {
				t.Error("a second run gives other bytes")
			}
			merged, msum, err := openapi.Merge(spec, out, set, openapi.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(merged, out) || msum.Triggers != 0 || msum.Outside != 0 || msum.Kept != c.triggers+c.outside {
				t.Errorf("merge into its own output changed it (%+v):\n%s", msum, merged)
			}
		})
	}
}

// The second spec names the org {teamSlug}: without --org-param every one of its
// operations is outside an org; with it, the file says org_param: teamSlug.
func TestOtherOrgParam(t *testing.T) {
	spec := load(t, "kanban-api.json")
	out, sum, err := openapi.Generate(spec, openapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Triggers != 0 || sum.Outside != 11 || !strings.Contains(string(out), "triggers: []\n") {
		t.Errorf("without --org-param: %+v\n%s", sum, out)
	}
	parse(t, "no-org.yaml", out)
	out, _, _ = openapi.Generate(spec, openapi.Options{OrgParam: "teamSlug"})
	set := parse(t, "kanban.yaml", out)
	if set.OrgParam() != "teamSlug" {
		t.Errorf("org_param %q", set.OrgParam())
	}
	// {card-id} became {card_id}; the UUID from the top-level id; x-syncgate-event wins.
	evs := set.Match("POST", "/teams/acme/boards/b1/cards", nil, []byte(`{"id":"c-9"}`))
	if len(evs) != 1 || evs[0].Name != "card.added" || evs[0].Org != "acme" || evs[0].Data["card_id"] != "c-9" || evs[0].Data["board_id"] != "b1" {
		t.Errorf("POST cards fired %+v", evs)
	}
	evs = set.Match("PATCH", "/teams/acme/boards/b1/cards/c-9", nil, nil)
	if len(evs) != 1 || evs[0].Name != "cards.updated" || evs[0].Data["card_id"] != "c-9" {
		t.Errorf("PATCH card fired %+v", evs)
	}
}

// --merge keeps hand edits byte for byte and adds only what the file lacks.
func TestMergeKeepsEditsAndAddsOnlyWhatIsNew(t *testing.T) {
	spec := load(t, "zetkin-api.yaml")
	gen, _, _ := openapi.Generate(spec, openapi.Options{})
	text := string(gen)
	// Hand edits: a renamed event with a room, a comment, a trigger for the header call
	// instead of its ignore entry; and one generated trigger removed (it will come back).
	text = strings.Replace(text, "  - event: campaign.updated\n", "  # our name\n  - event: campaign.changed\n", 1)
	text = strings.Replace(text, "  - PATCH /tasks/{taskId} # updateTask: no {orgId} in the path\n", "", 1)
	text = strings.Replace(text, "triggers:\n", "triggers:\n  - event: task.updated\n    method: PATCH\n    path: /tasks/{taskId}\n    org: header:X-Org-Id\n", 1)
	removed := "  # deleteTask\n  - event: task.deleted\n    method: DELETE\n    path: /orgs/{orgId}/tasks/{taskId}\n"
	if !strings.Contains(text, removed) {
		t.Fatal("the generated file lacks deleteTask's trigger")
	}
	text = strings.Replace(text, removed, "", 1)
	edited := []byte(text)
	set := parse(t, "edited.yaml", edited)
	merged, sum, err := openapi.Merge(spec, edited, set, openapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Triggers != 1 || sum.Outside != 0 {
		t.Errorf("summary %+v, want 1 trigger added", sum)
	}
	if !bytes.HasPrefix(merged, edited[:bytes.Index(edited, []byte("ignore:"))]) {
		t.Errorf("the file before the insertion changed:\n%s", merged)
	}
	if !strings.Contains(string(merged), "campaign.changed") || strings.Contains(string(merged), "campaign.updated") {
		t.Error("the renamed event was not kept")
	}
	mset := parse(t, "merged.yaml", merged)
	if got := mset.Match("DELETE", "/orgs/1/tasks/2", nil, nil); len(got) != 1 || got[0].Name != "task.deleted" {
		t.Errorf("deleteTask's trigger was not added back: %+v", got)
	}
	again, sum2, _ := openapi.Merge(spec, merged, mset, openapi.Options{})
	if !bytes.Equal(again, merged) || sum2.Triggers != 0 {
		t.Errorf("a second merge changed the file (%+v)", sum2)
	}
	if c := openapi.CheckCoverage(spec, mset); !c.OK() {
		t.Errorf("merged file does not cover the spec: %+v", c)
	}
	if _, _, err := openapi.Merge(spec, merged, mset, openapi.Options{OrgParam: "team"}); err == nil {
		t.Error("merge with another --org-param than the file's succeeded")
	}
}

// A merge into a file with no ignore: appends one; into a flow list "triggers: []" it
// turns the list into a block list.
func TestMergeIntoSmallFiles(t *testing.T) {
	spec := load(t, "kanban-api.json")
	for _, base := range []string{
		"org_param: teamSlug\ntriggers: []\n",
		"triggers:\n    - event: x.y\n      method: DELETE\n      path: /teams/{teamSlug}\n\n# the org\norg_param: teamSlug\n",
	} {
		set := parse(t, "base.yaml", []byte(base))
		out, _, err := openapi.Merge(spec, []byte(base), set, openapi.Options{})
		if err != nil {
			t.Fatalf("%q: %v", base, err)
		}
		mset := parse(t, "out.yaml", out)
		if c := openapi.CheckCoverage(spec, mset); len(c.Untriggered) != 1 || len(c.Unused) != 0 {
			t.Errorf("%q: coverage %+v\n%s", base, c, out)
		}
		again, _, _ := openapi.Merge(spec, out, mset, openapi.Options{})
		if !bytes.Equal(again, out) {
			t.Errorf("%q: second merge changed:\n%s\n---\n%s", base, out, again)
		}
	}
}

// The regenerated Zetkin file against the hand-written examples/zetkin-poc.yaml: every PoC
// trigger with an org in its path is generated for the same call with the same payload
// keys; the PoC's two events keep their names (x-syncgate-event); the other names follow
// the operationId rule. testdata/zetkin-vs-poc.txt lists every difference.
func TestZetkinRegeneratedAgainstPoC(t *testing.T) {
	spec := load(t, "zetkin-api.yaml")
	gen, _, _ := openapi.Generate(spec, openapi.Options{})
	g := parse(t, "generated.yaml", gen)
	pocData, err := os.ReadFile("../examples/zetkin-poc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	poc := parse(t, "zetkin-poc.yaml", pocData)
	var b strings.Builder
	gt := g.Triggers()
	matched := make([]bool, len(gt))
	for _, p := range poc.Triggers() {
		sample := strings.NewReplacer("{orgId}", "1", "{viewId}", "2", "{personId}", "3", "{rowId}", "4", "{columnId}", "5", "{tagId}", "6", "{callId}", "7", "{taskId}", "8", "{campaignId}", "9").Replace(p.Path)
		idx := g.Matching(p.Method, sample)
		if len(idx) != 1 {
			fmt.Fprintf(&b, "only in the PoC: %s %s %s (org %s)\n", p.Event, p.Method, p.Path, p.Org)
			continue
		}
		q := gt[idx[0]]
		matched[idx[0]] = true
		if q.Path != p.Path || strings.Join(q.FromResponse, ",") != strings.Join(p.FromResponse, ",") {
			t.Errorf("%s: generated %s %v, PoC %s %v", p.Event, q.Path, q.FromResponse, p.Path, p.FromResponse)
		}
		if q.Event != p.Event {
			fmt.Fprintf(&b, "renamed: %s %s: PoC %s, generated %s\n", p.Method, p.Path, p.Event, q.Event)
		}
		if p.Event == "personview.addrow" || p.Event == "personview.deleterow" {
			if q.Event != p.Event {
				t.Errorf("the PoC event %s is generated as %s", p.Event, q.Event)
			}
		}
	}
	for i, q := range gt {
		if !matched[i] {
			fmt.Fprintf(&b, "only generated: %s %s %s\n", q.Event, q.Method, q.Path)
		}
	}
	golden(t, "zetkin-vs-poc.txt", []byte(b.String()))
	// The PoC's payload for a row: {"viewId": 2, "personId": 3}, in both files.
	for _, s := range []*triggers.Set{g, poc} {
		evs := s.Match("PUT", "/orgs/1/people/views/2/rows/3", nil, nil)
		if len(evs) != 1 || evs[0].Name != "personview.addrow" || evs[0].Data["viewId"] != int64(2) || evs[0].Data["personId"] != int64(3) {
			t.Errorf("PoC row event: %+v", evs)
		}
	}
}

func TestCoverage(t *testing.T) {
	spec := load(t, "zetkin-api.yaml")
	gen, _, _ := openapi.Generate(spec, openapi.Options{})
	if c := openapi.CheckCoverage(spec, parse(t, "gen.yaml", gen)); !c.OK() || c.Triggered != 35 || c.Ignored != 5 {
		t.Errorf("generated file: %+v", c)
	}
	// A stale trigger and a stale ignore entry; a removed trigger.
	text := strings.Replace(string(gen), "triggers:\n", "triggers:\n  - event: petition.signed\n    method: POST\n    path: /orgs/{orgId}/petitions/{petitionId}/signatures\n", 1)
	text = strings.Replace(text, "ignore:\n", "ignore:\n  - DELETE /orgs/{orgId}/petitions/{petitionId}\n", 1)
	text = strings.Replace(text, "  - event: call.deleted\n    method: DELETE\n    path: /orgs/{orgId}/calls/{callId}\n", "", 1)
	c := openapi.CheckCoverage(spec, parse(t, "stale.yaml", []byte(text)))
	if c.OK() || len(c.Untriggered) != 1 || c.Untriggered[0].OperationID != "deleteCall" ||
		len(c.Unused) != 1 || c.Unused[0].Event != "petition.signed" || len(c.UnusedIgnores) != 1 {
		t.Errorf("stale file: %+v", c)
	}
	// x-syncgate-ignore counts as ignored without any ignore: entry.
	k := load(t, "kanban-api.json")
	kc := openapi.CheckCoverage(k, parse(t, "k.yaml", mustGenerate(t, k, "teamSlug")))
	if kc.OK() || len(kc.Untriggered) != 1 || kc.Untriggered[0].Template != "" {
		t.Errorf("kanban: %+v", kc)
	}
}

func mustGenerate(t *testing.T, s *openapi.Spec, orgParam string) []byte {
	t.Helper()
	out, _, err := openapi.Generate(s, openapi.Options{OrgParam: orgParam})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBadEventExtension(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	spec := "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /orgs/{orgId}/x:\n    post:\n      x-syncgate-event: Not An Event\n      responses:\n        '204': {description: ok}\n"
	if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := openapi.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = openapi.Generate(s, openapi.Options{})
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:5: x-syncgate-event \"Not An Event\"") {
		t.Errorf("err = %v", err)
	}
	sw := filepath.Join(t.TempDir(), "swagger.yaml")
	if err := os.WriteFile(sw, []byte("swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := openapi.Load(sw); err == nil || !strings.Contains(err.Error(), "want a 3.0 or 3.1 document") {
		t.Errorf("a Swagger 2.0 document: err = %v", err)
	}
}
