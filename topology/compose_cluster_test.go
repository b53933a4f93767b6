package topology

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"

	"github.com/syncgate/syncgate/internal/testenv"
)

// The cluster profile's services (docker compose --profile cluster up cluster-nginx): three
// Redis Cluster masters, the one-shot redis-cluster-init, two gateways on --redis-cluster and
// an nginx in front of them.
var clusterServices = []string{"redis-cluster-1", "redis-cluster-2", "redis-cluster-3", "redis-cluster-init",
	"cluster-node1", "cluster-node2", "cluster-nginx"}

const (
	clusterInit         = "redis-cluster-init"
	clusterNginx        = "cluster-nginx"
	clusterScriptTarget = "/usr/local/bin/create-cluster.sh" // deploy/redis-cluster/create-cluster.sh
)

// clusterMasters returns the "service:port" masters redis-cluster-init makes the cluster of.
func clusterMasters(t *testing.T, c *composeFile) []string {
	t.Helper()
	nodes := strings.Fields(c.service(t, clusterInit).Environment["REDIS_CLUSTER_NODES"])
	if len(nodes) == 0 {
		t.Fatalf("%s sets no REDIS_CLUSTER_NODES", clusterInit)
	}
	return nodes
}

// clusterGateways returns the "service:port" gateways cluster-nginx balances.
func clusterGateways(t *testing.T, c *composeFile) []string {
	t.Helper()
	ng := c.service(t, clusterNginx)
	b, err := os.ReadFile(filepath.Join(ng.mountAt(t, nginxIncludeTarget), upstreamServers))
	if err != nil {
		t.Fatal(err)
	}
	return upstreamHosts(string(b))
}

// docker-compose.yml's cluster profile: three cluster-enabled masters that redis-cluster-init
// (the script in deploy/redis-cluster) joins once they answer; gateways configured as node1
// and node2 but with SYNCGATE_REDIS_CLUSTER naming exactly those masters, started once the
// cluster exists; cluster-nginx in front of them as nginx is in front of node1 and node2. The
// default deployment does not change.
func TestComposeClusterProfile(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		if slices.Contains(s.Profiles, "cluster") != slices.Contains(clusterServices, name) {
			t.Errorf("service %s has profiles %v; the cluster profile is %v", name, s.Profiles, clusterServices)
		}
	}

	// Masters, and the one-shot that makes them a cluster.
	masters := clusterMasters(t, c)
	if len(masters) < 3 {
		t.Errorf("%s creates a cluster of %v: Redis Cluster needs at least three masters", clusterInit, masters)
	}
	in := c.service(t, clusterInit)
	for _, m := range masters {
		name, port, _ := strings.Cut(m, ":")
		svc := c.service(t, name)
		if len(svc.Command) == 0 || svc.Command[0] != "redis-server" {
			t.Fatalf("master %s runs %q, want redis-server", name, svc.Command)
		}
		if v, ok := flagValue(svc.Command, "cluster-enabled"); !ok || v != "yes" {
			t.Errorf("master %s: --cluster-enabled %q, want yes", name, v)
		}
		if p, ok := flagValue(svc.Command, "port"); ok && p != port || !ok && port != "6379" {
			t.Errorf("%s names %s, but %s listens on port %q (default 6379)", clusterInit, m, name, p)
		}
		if d, ok := in.DependsOn[name]; !ok || d.Condition != "service_healthy" {
			t.Errorf("%s does not wait for master %s to answer", clusterInit, name)
		}
	}
	if in.Restart != "no" {
		t.Errorf("%s restarts %q, want \"no\" (a one-shot)", clusterInit, in.Restart)
	}
	script := in.mountAt(t, clusterScriptTarget)
	if filepath.Base(filepath.Dir(script)) != "redis-cluster" || !slices.Equal(in.Command, []string{"sh", clusterScriptTarget}) {
		t.Errorf("%s runs %q with %s mounted from %s, want sh %s from deploy/redis-cluster", clusterInit, in.Command, clusterScriptTarget, script, clusterScriptTarget)
	}

	// Gateways: node1's settings, the cluster in place of the one Redis.
	node1 := c.service(t, "node1")
	want := map[string]string{}
	for k, v := range node1.Environment {
		if k != "SYNCGATE_REDIS" {
			want[k] = v
		}
	}
	want["SYNCGATE_REDIS_CLUSTER"] = strings.Join(masters, ",")
	gws := clusterGateways(t, c)
	if len(gws) < 2 {
		t.Fatalf("%s balances %v, want at least two gateways", clusterNginx, gws)
	}
	ng := c.service(t, clusterNginx)
	for _, hp := range gws {
		name, _, _ := strings.Cut(hp, ":")
		if slices.Contains(nodeHosts(t, c), hp) {
			t.Errorf("%s is balanced by both nginx and %s", name, clusterNginx)
		}
		g := c.service(t, name)
		if !reflect.DeepEqual(g.Environment, want) {
			t.Errorf("gateway %s's environment\n%v\nwant node1's with SYNCGATE_REDIS_CLUSTER for SYNCGATE_REDIS:\n%v", name, g.Environment, want)
		}
		if g.Image != node1.Image || !reflect.DeepEqual(g.Volumes, node1.Volumes) || !reflect.DeepEqual(g.Healthcheck, node1.Healthcheck) {
			t.Errorf("gateway %s differs from node1 beyond its environment", name)
		}
		if d := g.DependsOn[clusterInit]; d.Condition != "service_completed_successfully" {
			t.Errorf("gateway %s does not wait for %s to complete", name, clusterInit)
		}
		if d := g.DependsOn["demo-api"]; d.Condition != "service_healthy" {
			t.Errorf("gateway %s does not wait for demo-api", name)
		}
		if _, ok := g.DependsOn["redis"]; ok {
			t.Errorf("gateway %s depends on the single redis", name)
		}
		if d := ng.DependsOn[name]; d.Condition != "service_healthy" {
			t.Errorf("%s does not wait for %s", clusterNginx, name)
		}
	}

	// cluster-nginx: the same site config as nginx, its own upstreams, its own public port.
	def := c.service(t, "nginx")
	if ng.Image != def.Image || ng.mountAt(t, nginxSiteTarget) != def.mountAt(t, nginxSiteTarget) {
		t.Errorf("%s does not run nginx's image and site config", clusterNginx)
	}
	listen, err := os.ReadFile(filepath.Join(ng.mountAt(t, nginxIncludeTarget), listenConf))
	if err != nil {
		t.Fatal(err)
	}
	ports := listenPorts(string(listen))
	if len(ports) != 1 || len(ng.Ports) != 1 || !strings.HasSuffix(ng.Ports[0], ":"+ports[0]) {
		t.Errorf("%s listens on %v and publishes %v", clusterNginx, ports, ng.Ports)
	}
	if slices.Equal(ng.Ports, def.Ports) {
		t.Errorf("%s publishes %v, as nginx does: both cannot run at once", clusterNginx, ng.Ports)
	}
}

// The file with the cluster profile is valid for docker-compose v1 and loads with compose-go
// (Compose v2), which sees the default services plus the cluster's.
func TestComposeClusterConfigValid(t *testing.T) {
	root := testenv.RepoRoot(t)
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithName("syncgate"), cli.WithProfiles([]string{"cluster"}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	p, err := opts.LoadProject(ctx)
	cancel()
	if err != nil {
		t.Fatalf("compose-go, profile cluster: %v", err)
	}
	names := p.ServiceNames()
	slices.Sort(names)
	want := append([]string{"demo-api", "nginx", "node1", "node2", "redis"}, clusterServices...)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("profile cluster: services %v, want %v", names, want)
	}
	c := loadCompose(t)
	for _, hp := range clusterGateways(t, c) {
		name, _, _ := strings.Cut(hp, ":")
		s, err := p.GetService(name)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range c.service(t, name).Environment {
			if got := s.Environment[k]; got == nil || *got != v {
				t.Errorf("compose v2 reads %s's %s as %v, want %q", name, k, got, v)
			}
		}
		if d, ok := s.DependsOn[clusterInit]; !ok || d.Condition != "service_completed_successfully" {
			t.Errorf("compose v2 reads %s's dependency on %s as %+v", name, clusterInit, d)
		}
	}

	bin := optionalTool(t, "docker-compose", "docker-compose")
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-f", "docker-compose.yml", "--profile", "cluster", "config", "-q")
	cmd.Dir = root
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker-compose --profile cluster config -q: %v\n%s", err, out)
	}
}

// The cluster profile's deployment, run without Docker: the masters as compose runs them
// (on local ports), made a cluster by the compose init script (twice: the second run finds
// it made), and both gateways with their compose environment; a socket on each gateway gets
// the events of PUTs handled by either.
func TestComposeClusterDeployment(t *testing.T) {
	c := loadCompose(t)
	redisServer := needTool(t, "redis-server", "redis-server")
	needTool(t, "redis-cli", "redis-tools")
	names := newLocalNames(c.names())

	for _, m := range clusterMasters(t, c) {
		name, port, _ := strings.Cut(m, ":")
		names.addHost(name, port, startClusterMaster(t, redisServer, name, c.service(t, name).Command[1:]))
	}
	in := c.service(t, clusterInit)
	nodes, err := names.apply(in.Environment["REDIS_CLUSTER_NODES"])
	if err != nil {
		t.Fatal(err)
	}
	for run, want := range []string{"redis cluster created", "redis cluster already created"} {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		cmd := exec.CommandContext(ctx, "sh", in.mountAt(t, clusterScriptTarget))
		cmd.Env = append(cleanEnv(), "REDIS_CLUSTER_NODES="+nodes)
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil || !strings.Contains(string(out), want) {
			t.Fatalf("%s, run %d: %v, want %q in its output:\n%s", clusterInit, run+1, err, want, out)
		}
	}
	first := strings.Fields(nodes)[0]
	host, port, _ := net.SplitHostPort(first)
	if out, err := exec.Command("redis-cli", "-h", host, "-p", port, "cluster", "info").CombinedOutput(); err != nil ||
		!strings.Contains(string(out), "cluster_known_nodes:"+strconv.Itoa(len(strings.Fields(nodes)))) {
		t.Fatalf("cluster info after %s: %v\n%s", clusterInit, err, out)
	}

	bin := syncgateBinary(t)
	api := c.service(t, "demo-api")
	apiListen, _ := flagValue(api.Command, "listen")
	apiPort, err := portOfListen(apiListen)
	if err != nil {
		t.Fatal(err)
	}
	apiAddr := startSyncgate(t, "demo-api", bin, api, names, apiPort, func(addr string, args, env []string) ([]string, []string) {
		return withFlag(args, "listen", addr), env
	})
	names.addHost("demo-api", apiPort, apiAddr)
	var bases []string
	for _, hp := range clusterGateways(t, c) {
		name, port, _ := strings.Cut(hp, ":")
		addr := startSyncgate(t, name, bin, c.service(t, name), names, port, func(addr string, args, env []string) ([]string, []string) {
			admin := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
			return args, append(env, "SYNCGATE_LISTEN="+addr, "SYNCGATE_ADMIN_LISTEN="+admin)
		})
		bases = append(bases, "http://"+addr)
	}

	n := testenv.StartNode(t)
	for i, base := range bases {
		o := map[string]any{"reconnection": false, "transports": []string{"websocket"},
			"extraHeaders": map[string]string{"Cookie": aliceCookie, "Origin": base}}
		if _, err := n.Connect(fmt.Sprint("gw", i), base+"/org/1", o); err != nil {
			t.Fatalf("socket on gateway %d: %v", i+1, err)
		}
	}
	// A PUT through each gateway reaches the sockets of both: through the cluster for the other.
	for via := range bases {
		person := 4 + via // people of the demo API
		putRow(t, bases[via], 1, person)
		for i := range bases {
			ev, err := n.WaitEvent(fmt.Sprint("gw", i), "personview.addrow", 0)
			if err != nil {
				t.Fatalf("socket on gateway %d, PUT through gateway %d: %v", i+1, via+1, err)
			}
			checkRowPayload(t, ev, 1, person)
		}
	}
}

// startClusterMaster runs redis-server with the compose service's arguments, moved to a free
// loopback port (and cluster bus port) and a directory of its own, and returns its address
// once it answers PING.
func startClusterMaster(t *testing.T, bin, name string, args []string) string {
	t.Helper()
	dir := t.TempDir()
	for attempt := 0; attempt < 3; attempt++ {
		addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
		_, port, _ := net.SplitHostPort(addr)
		a := append(slices.Clone(args), "--bind", "127.0.0.1", "--port", port,
			"--cluster-port", strconv.Itoa(testenv.FreePort(t)), "--dir", dir, "--daemonize", "no")
		p, err := startProcess(t, name, nil, bin, a...)
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(readyTimeout); time.Now().Before(deadline) && p.running(); {
			if out, err := exec.Command("redis-cli", "-h", "127.0.0.1", "-p", port, "ping").Output(); err == nil && strings.TrimSpace(string(out)) == "PONG" {
				return addr
			}
			time.Sleep(50 * time.Millisecond)
		}
		p.stop(syscall.SIGKILL, 0)
		if !strings.Contains(p.out.String(), "in use") {
			t.Fatalf("%s did not answer PING:\n%s", name, p.out.String())
		}
	}
	t.Fatalf("%s: no free port after 3 attempts", name)
	return ""
}
