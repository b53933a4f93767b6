package systems

import (
	"context"
	"os"
	"os/exec"
	"strings"
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
	if err := Prepare(context.Background(), env, []string{"apache"}); err == nil {
		t.Fatal("Prepare accepted an unknown system")
	}
	if _, err := Start(context.Background(), env, "apache"); err == nil {
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

func TestPinnedServersRunUnderTaskset(t *testing.T) {
	cmd := exec.Command("/bin/server", "--listen", "x")
	cmd.Dir = "/d"
	if got := pin(Env{}, cmd); got != cmd {
		t.Fatal("an unpinned command was wrapped")
	}
	got := pin(Env{ServerCPUs: "0"}, cmd)
	if want := []string{"taskset", "-c", "0", "/bin/server", "--listen", "x"}; strings.Join(got.Args, " ") != strings.Join(want, " ") || got.Dir != "/d" {
		t.Fatalf("pinned command = %v in %s, want %v in /d", got.Args, got.Dir, want)
	}
}

func TestNginxConfProxiesAPIOntoTheUpstreamBase(t *testing.T) {
	env := Env{WorkDir: t.TempDir(), Upstream: "http://127.0.0.1:9000/v1"}
	conf, err := writeNginxConf(env, "127.0.0.1:8095")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"server 127.0.0.1:9000; keepalive 256;", "listen 127.0.0.1:8095;", "proxy_pass http://api/v1/;", `proxy_set_header Connection "";`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("nginx.conf lacks %q:\n%s", want, b)
		}
	}
	if _, err := exec.LookPath("nginx"); err == nil {
		if out, err := exec.Command("nginx", "-t", "-c", conf, "-e", "stderr").CombinedOutput(); err != nil {
			t.Fatalf("nginx -t: %v\n%s", err, out)
		}
	}
}
