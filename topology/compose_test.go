package topology

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
)

// docker-compose.yml is valid for Debian's docker-compose (v1; no Docker engine needed), with
// and without the monitoring profile.
func TestComposeConfigValid(t *testing.T) {
	bin := optionalTool(t, "docker-compose", "docker-compose")
	for _, args := range [][]string{{"config", "-q"}, {"--profile", "monitoring", "config", "-q"}} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, bin, append([]string{"-f", "docker-compose.yml"}, args...)...)
		cmd.Dir = testenv.RepoRoot(t)
		cmd.Env = cleanEnv()
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("docker-compose %v: %v\n%s", args, err, out)
		}
	}
}

// The compose file starts things in order and can tell when each is up. A one-shot service
// (restart "no", such as the cluster profile's redis-cluster-init) has no health check: what
// depends on it waits for it to complete successfully.
func TestComposeHealthAndOrder(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		if len(s.Healthcheck.Test) == 0 && s.Restart != "no" {
			t.Errorf("service %s has no health check: whatever depends on it starts too early", name)
		}
		for dep, d := range s.DependsOn {
			ds, ok := c.Services[dep]
			if !ok {
				t.Errorf("service %s depends on unknown service %s", name, dep)
			}
			want := "service_healthy"
			if ds.Restart == "no" {
				want = "service_completed_successfully"
			}
			if d.Condition != want {
				t.Errorf("service %s depends on %s with condition %q, want %s", name, dep, d.Condition, want)
			}
		}
	}
	ng := c.service(t, "nginx")
	for _, hp := range nodeHosts(t, c) {
		node, _, _ := strings.Cut(hp, ":")
		if _, ok := ng.DependsOn[node]; !ok {
			t.Errorf("nginx resolves %s at start but does not depend on it", node)
		}
		for _, dep := range []string{"redis", "demo-api"} {
			if _, ok := c.service(t, node).DependsOn[dep]; !ok {
				t.Errorf("gateway %s does not depend on %s", node, dep)
			}
		}
	}
}

// The balancer's nodes must be interchangeable: same image, command and settings.
func TestComposeNodesAreAlike(t *testing.T) {
	c := loadCompose(t)
	hosts := nodeHosts(t, c)
	if len(hosts) < 2 {
		t.Fatalf("nginx balances %v, want at least two nodes", hosts)
	}
	first, _, _ := strings.Cut(hosts[0], ":")
	a := c.service(t, first)
	if a.Environment["SYNCGATE_REDIS"] == "" {
		t.Errorf("gateway %s has no SYNCGATE_REDIS: events of one node would not reach the others", first)
	}
	for _, hp := range hosts[1:] {
		name, _, _ := strings.Cut(hp, ":")
		b := c.service(t, name)
		if a.Image != b.Image || !reflect.DeepEqual(a.Command, b.Command) ||
			!reflect.DeepEqual(a.Environment, b.Environment) || !reflect.DeepEqual(a.Volumes, b.Volumes) {
			t.Errorf("gateways %s and %s differ:\n%+v\n%+v", first, name, a, b)
		}
	}
}

// nginx publishes the port it listens on, with the site config the topology test runs.
func TestComposeNginxPorts(t *testing.T) {
	c := loadCompose(t)
	ng := c.service(t, "nginx")
	listen, err := os.ReadFile(filepath.Join(ng.mountAt(t, nginxIncludeTarget), listenConf))
	if err != nil {
		t.Fatal(err)
	}
	ports := listenPorts(string(listen))
	if len(ports) != 1 {
		t.Fatalf("%s listens on %v, want one port", listenConf, ports)
	}
	published := false
	for _, p := range ng.Ports {
		if strings.HasSuffix(p, ":"+ports[0]) {
			published = true
		}
	}
	if !published {
		t.Errorf("nginx listens on %s but publishes %v", ports[0], ng.Ports)
	}
	if site := ng.mountAt(t, nginxSiteTarget); filepath.Base(site) != "syncgate.conf" {
		t.Errorf("nginx's site config is %s, want deploy/nginx/syncgate.conf", site)
	}
}

var (
	fromRe       = regexp.MustCompile(`(?im)^FROM\s+\S+(?:\s+AS\s+(\S+))?\s*$`)
	userRe       = regexp.MustCompile(`(?m)^USER\s+(\S+)\s*$`)
	entrypointRe = regexp.MustCompile(`(?m)^ENTRYPOINT\s+\["([^"]+)"`)
	copyBinRe    = regexp.MustCompile(`(?m)^COPY\s+--from=\S+\s+\S+\s+(\S+)\s*$`)
	exposeRe     = regexp.MustCompile(`(?m)^EXPOSE\s+([0-9]+)\s*$`)
)

// The image builds a static binary and runs it as a non-root user.
func TestDockerfile(t *testing.T) {
	root := testenv.RepoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	if !strings.Contains(df, "CGO_ENABLED=0") || !strings.Contains(df, "-trimpath") {
		t.Error("the build stage must build with CGO_ENABLED=0 and -trimpath (as syncgateBinary does)")
	}
	froms := fromRe.FindAllStringIndex(df, -1)
	if len(froms) < 2 {
		t.Fatalf("want a multi-stage Dockerfile, found %d FROM lines", len(froms))
	}
	final := df[froms[len(froms)-1][0]:]
	users := userRe.FindAllStringSubmatch(final, -1)
	if len(users) == 0 {
		t.Fatal("the final stage sets no USER: the gateway would run as root")
	}
	user := users[len(users)-1][1]
	if u, _, _ := strings.Cut(user, ":"); u == "0" || u == "root" || !regexp.MustCompile(`^[0-9]+$`).MatchString(u) {
		t.Errorf("final USER %q: want a numeric non-root user (runAsNonRoot can only verify numbers)", user)
	}
	entry := entrypointRe.FindStringSubmatch(final)
	copied := copyBinRe.FindStringSubmatch(final)
	if entry == nil || copied == nil || entry[1] != copied[1] {
		t.Errorf("ENTRYPOINT %v does not run the binary copied from the build stage %v", entry, copied)
	}
	expose := exposeRe.FindStringSubmatch(final)
	if expose == nil || ":"+expose[1] != gatewayListenDefault {
		t.Errorf("EXPOSE %v, want the gateway's default port %s", expose, gatewayListenDefault)
	}
	c := loadCompose(t)
	for name, s := range c.Services {
		if s.Build != nil && s.Build != "." {
			t.Errorf("service %s builds %v, want the repository root (.)", name, s.Build)
		}
	}
}

// nodeHosts returns the "host:port" gateways nginx balances in docker-compose.yml.
func nodeHosts(t *testing.T, c *composeFile) []string {
	t.Helper()
	ng := c.service(t, "nginx")
	b, err := os.ReadFile(filepath.Join(ng.mountAt(t, nginxIncludeTarget), upstreamServers))
	if err != nil {
		t.Fatal(err)
	}
	return upstreamHosts(string(b))
}
