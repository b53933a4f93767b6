package systems

import (
	"context"
	"testing"

	"github.com/syncgate/syncgate/triggers"
)

func TestTriggerFileLoadsAndFiresOnTheRowPut(t *testing.T) {
	env := Env{WorkDir: t.TempDir()}
	if err := Prepare(context.Background(), env, nil); err != nil {
		t.Fatal(err)
	}
	set, err := triggers.Load(TriggerFile(env))
	if err != nil {
		t.Fatal(err)
	}
	evs := set.Match("PUT", "/orgs/1/people/views/2/rows/3", nil, nil)
	if len(evs) != 1 || evs[0].Name != "personview.addrow" || evs[0].Org != "1" {
		t.Fatalf("events = %+v, want one personview.addrow to org 1", evs)
	}
}

func TestUnknownSystemsAreRejected(t *testing.T) {
	env := Env{WorkDir: t.TempDir()}
	if err := Prepare(context.Background(), env, []string{"nginx"}); err == nil {
		t.Fatal("Prepare accepted an unknown system")
	}
	if _, err := Start(context.Background(), env, "nginx"); err == nil {
		t.Fatal("Start accepted an unknown system")
	}
}
