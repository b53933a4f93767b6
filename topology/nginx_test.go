package topology

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/syncgate/syncgate/internal/testenv"
)

// The files docker-compose.yml mounts into the nginx container, and where.
const (
	nginxSiteTarget    = "/etc/nginx/conf.d/default.conf" // deploy/nginx/syncgate.conf
	nginxIncludeTarget = "/etc/nginx/syncgate"            // deploy/nginx/compose/
	upstreamServers    = "upstream-servers.conf"
	listenConf         = "listen.conf"
)

// nginxMainConf is the test's own main nginx.conf: what the official image's nginx.conf does
// (include the site config in http {}), with every path inside the test's directory so that
// nginx runs as any user. %[1]s is that directory, %[2]s the user line, %[3]s the site config.
const nginxMainConf = `# Written by the syncgate topology test.
%[2]s
worker_processes 1;
pid %[1]s/nginx.pid;
error_log stderr notice;
events {
    worker_connections 512;
}
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/temp/client_body;
    proxy_temp_path %[1]s/temp/proxy;
    fastcgi_temp_path %[1]s/temp/fastcgi;
    uwsgi_temp_path %[1]s/temp/uwsgi;
    scgi_temp_path %[1]s/temp/scgi;
    include %[3]s;
}
`

// nginxUserLine returns the main config's user directive. As root, nginx would switch its
// workers to the compiled-in default user ("nobody"), which cannot enter the test's 0700
// temporary directory to buffer bodies; so the workers keep the current user. Otherwise
// nginx cannot switch users and the directive is omitted (nginx would warn and ignore it).
func nginxUserLine() (string, error) {
	if os.Geteuid() != 0 {
		return "# not root: workers run as the current user", nil
	}
	u, err := user.Current()
	if err != nil {
		return "", fmt.Errorf("current user: %w", err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		return "", fmt.Errorf("group %s: %w", u.Gid, err)
	}
	return fmt.Sprintf("user %s %s;", u.Username, g.Name), nil
}

var upstreamServerRe = regexp.MustCompile(`(?m)^\s*server\s+([^\s;]+)`)

// upstreamHosts returns the "host:port" of every server line of an upstream-servers.conf.
func upstreamHosts(conf string) []string {
	var out []string
	for _, m := range upstreamServerRe.FindAllStringSubmatch(conf, -1) {
		out = append(out, m[1])
	}
	return out
}

var listenRe = regexp.MustCompile(`(?m)^\s*listen\s+(?:[^\s;]*:)?([0-9]+)[\s;]`)

// listenPorts returns the ports of the listen lines of a listen.conf.
func listenPorts(conf string) []string {
	var out []string
	for _, m := range listenRe.FindAllStringSubmatch(conf, -1) {
		out = append(out, m[1])
	}
	return out
}

// startNginx runs Debian's nginx with the compose nginx service's site config, its include
// files rewritten by names, and listen.conf replaced by a free loopback port. It returns the
// base URL once healthURL (the compose health check) answers 200 through it.
func startNginx(t *testing.T, svc composeService, names *localNames) string {
	t.Helper()
	bin := needTool(t, "nginx", "nginx")
	site := svc.mountAt(t, nginxSiteTarget)
	incSrc := svc.mountAt(t, nginxIncludeTarget)
	listen, err := os.ReadFile(filepath.Join(incSrc, listenConf))
	if err != nil {
		t.Fatalf("nginx include: %v", err)
	}
	ports := listenPorts(string(listen))
	if len(ports) != 1 {
		t.Fatalf("%s: want one listen port, got %v", listenConf, ports)
	}
	health, err := svc.healthURL()
	if err != nil {
		t.Fatalf("nginx service: %v", err)
	}
	userLine, err := nginxUserLine()
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	incDst := filepath.Join(dir, filepath.Base(nginxIncludeTarget))
	for _, d := range []string{incDst, filepath.Join(dir, "temp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(incSrc)
	if err != nil {
		t.Fatalf("nginx includes: %v", err)
	}
	for _, e := range entries {
		if e.IsDir() || e.Name() == listenConf {
			continue
		}
		b, err := os.ReadFile(filepath.Join(incSrc, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		local, err := applyLines(names, string(b))
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		if err := os.WriteFile(filepath.Join(incDst, e.Name()), []byte(local), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(nginxMainConf, dir, userLine, site)), 0o644); err != nil {
		t.Fatal(err)
	}

	// A free port may be taken before nginx binds it: a few attempts.
	for attempt := 0; attempt < 3; attempt++ {
		port := strconv.Itoa(testenv.FreePort(t))
		addr := "127.0.0.1:" + port
		line := "# written by the topology test in place of " + listenConf + "\nlisten " + addr + ";\n"
		if err := os.WriteFile(filepath.Join(incDst, listenConf), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := startProcess(t, "nginx", nil, bin, "-e", "stderr", "-p", dir, "-c", conf, "-g", "daemon off;")
		if err != nil {
			t.Fatal(err)
		}
		url, err := localHealthURL(health, ports[0], addr)
		if err != nil {
			t.Fatalf("nginx service: %v", err)
		}
		err = p.waitReady(url)
		if errors.Is(err, errAddrInUse) {
			continue
		}
		if err != nil {
			t.Fatalf("nginx: %v\naccess log:\n%s", err, readTail(filepath.Join(dir, "access.log")))
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("nginx access log:\n%s", readTail(filepath.Join(dir, "access.log")))
			}
		})
		return "http://" + addr
	}
	t.Fatal("nginx: no free port after 3 attempts")
	return ""
}

// applyLines rewrites every line of an nginx include with names.
func applyLines(names *localNames, conf string) (string, error) {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(conf))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			var err error
			if line, err = names.apply(line); err != nil {
				return "", err
			}
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String(), sc.Err()
}

// readTail returns the last 8 KiB of a file, or why it could not be read.
func readTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	const max = 8 << 10
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}
