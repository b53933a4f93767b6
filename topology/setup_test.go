package topology

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/syncgate/syncgate/internal/testenv"
)

// gatewayListenDefault is the port a gateway listens on without --listen / SYNCGATE_LISTEN.
const gatewayListenDefault = ":8080"

// topology is docker-compose.yml's deployment running on loopback.
type topology struct {
	demoAPI string   // base URL of the demo API
	nodes   []string // base URLs of the gateway nodes, in the order of nginx's upstream servers
	names   []string // their compose service names
	nginx   string   // base URL of nginx: what a browser talks to
}

// startTopology starts, as docker-compose.yml declares them: redis, demo-api, the gateway nodes
// that nginx's upstream-servers.conf names, and nginx in front of them.
func startTopology(t *testing.T) *topology {
	t.Helper()
	c := loadCompose(t)
	bin := syncgateBinary(t)
	names := newLocalNames(c.names())
	topo := &topology{}

	c.service(t, "redis")
	redis := testenv.StartRedis(t)
	names.addHost("redis", "6379", redis.Addr())

	api := c.service(t, "demo-api")
	apiListen, ok := flagValue(api.Command, "listen")
	if !ok {
		t.Fatalf("demo-api's command %q has no --listen", api.Command)
	}
	apiPort, err := portOfListen(apiListen)
	if err != nil {
		t.Fatalf("demo-api: %v", err)
	}
	apiAddr := startSyncgate(t, "demo-api", bin, api, names, apiPort, func(addr string, args, env []string) ([]string, []string) {
		return withFlag(args, "listen", addr), env
	})
	names.addHost("demo-api", apiPort, apiAddr)
	topo.demoAPI = "http://" + apiAddr

	ng := c.service(t, "nginx")
	servers, err := os.ReadFile(filepath.Join(ng.mountAt(t, nginxIncludeTarget), upstreamServers))
	if err != nil {
		t.Fatalf("nginx upstream servers: %v", err)
	}
	hosts := upstreamHosts(string(servers))
	if len(hosts) != 2 {
		t.Fatalf("%s lists %v, want the two gateway nodes", upstreamServers, hosts)
	}
	for _, hp := range hosts {
		name, port, ok := strings.Cut(hp, ":")
		if !ok {
			t.Fatalf("upstream server %q has no port", hp)
		}
		svc := c.service(t, name)
		listen := gatewayListenDefault
		if v, ok := svc.Environment["SYNCGATE_LISTEN"]; ok {
			listen = v
		}
		if v, ok := flagValue(svc.Command, "listen"); ok {
			listen = v
		}
		if lp, err := portOfListen(listen); err != nil || lp != port {
			t.Fatalf("nginx sends %s to port %s, but service %s listens on %q (%v)", name, port, name, listen, err)
		}
		addr := startSyncgate(t, name, bin, svc, names, port, func(addr string, args, env []string) ([]string, []string) {
			// Each container has its own loopback for the admin listener; processes here share one.
			admin := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
			return args, append(env, "SYNCGATE_LISTEN="+addr, "SYNCGATE_ADMIN_LISTEN="+admin)
		})
		names.addHost(name, port, addr)
		topo.nodes = append(topo.nodes, "http://"+addr)
		topo.names = append(topo.names, name)
	}

	topo.nginx = startNginx(t, ng, names)
	return topo
}

// startSyncgate runs the syncgate binary as compose service name runs in its container: its
// command and environment with names applied and its mounts mapped to repository paths, on a
// free loopback port that local adds to the arguments or environment. It returns the address
// once the service's health check (its URL moved to that address) answers 200.
func startSyncgate(t *testing.T, name, bin string, svc composeService, names *localNames, listenPort string,
	local func(addr string, args, env []string) ([]string, []string)) string {
	t.Helper()
	if svc.Image != "syncgate:local" || svc.Build == nil {
		t.Fatalf("service %s runs image %q (build %v), want syncgate:local built from the Dockerfile", name, svc.Image, svc.Build)
	}
	for _, m := range svc.mounts(t) {
		names.addPath(m.Target, m.Source)
	}
	args, err := names.applyAll(svc.Command)
	if err != nil {
		t.Fatalf("service %s: %v", name, err)
	}
	var env []string
	for k, v := range svc.Environment {
		lv, err := names.apply(v)
		if err != nil {
			t.Fatalf("service %s: %s: %v", name, k, err)
		}
		env = append(env, k+"="+lv)
	}
	health, err := svc.healthURL()
	if err != nil {
		t.Fatalf("service %s: %v", name, err)
	}
	for attempt := 0; attempt < 3; attempt++ {
		addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
		a, e := local(addr, args, env)
		url, err := localHealthURL(health, listenPort, addr)
		if err != nil {
			t.Fatalf("service %s: %v", name, err)
		}
		p, err := startProcess(t, name, e, bin, a...)
		if err != nil {
			t.Fatal(err)
		}
		err = p.waitReady(url)
		if errors.Is(err, errAddrInUse) {
			p.stop(syscall.SIGKILL, 0)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return addr
	}
	t.Fatalf("service %s: no free port after 3 attempts", name)
	return ""
}
