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

func TestRedisStartsAnswersPingAndStops(t *testing.T) {
	p, err := StartRedis(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !pingRedis(p.Addr) {
		t.Fatal("started redis-server does not answer PING")
	}
	p.Stop()
	if p.Alive() || pingRedis(p.Addr) {
		t.Fatal("redis-server still answers after Stop")
	}
}

func TestRedisURLReachesBothKindsOfServer(t *testing.T) {
	env := Env{WorkDir: "/w", Upstream: "http://u/v1", Redis: "redis://127.0.0.1:7/0"}
	args := gatewayArgs(env, "127.0.0.1:1")
	if got := args[len(args)-2:]; got[0] != "--redis" || got[1] != env.Redis {
		t.Fatalf("gateway args end %v, want --redis %s", got, env.Redis)
	}
	env.Redis = ""
	for _, a := range gatewayArgs(env, "127.0.0.1:1") {
		if a == "--redis" {
			t.Fatal("--redis passed without a Redis URL")
		}
	}
}
