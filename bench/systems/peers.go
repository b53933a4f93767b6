package systems

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// CentrifugoVersion is the Centrifugo release the benchmark builds (from the Go module proxy).
const CentrifugoVersion = "v6.9.1"

// centrifugoModule is Centrifugo's main package.
const centrifugoModule = "github.com/centrifugal/centrifugo/v6"

// CentrifugoBinary returns Centrifugo's binary, building it once into the user's cache
// directory (…/syncbench/centrifugo-VERSION/centrifugo) with `go install MODULE@VERSION`
// run outside the repository, so the build never touches the repository's go.mod.
func CentrifugoBinary(ctx context.Context) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("systems: cache dir for centrifugo: %w", err)
	}
	dir := filepath.Join(cache, "syncbench", "centrifugo-"+CentrifugoVersion)
	bin := filepath.Join(dir, "centrifugo")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("systems: %w", err)
	}
	cmd := exec.CommandContext(ctx, "go", "install", centrifugoModule+"@"+CentrifugoVersion)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("systems: go install %s@%s: %w\n%s", centrifugoModule, CentrifugoVersion, err, b)
	}
	return bin, nil
}

// EnsureTool checks that command is on PATH (with /usr/sbin and /sbin, where Debian puts
// nginx) and otherwise installs the Debian package pkg with apt-get (the benchmark runs as
// root on the project's machines).
func EnsureTool(ctx context.Context, command, pkg string) (string, error) {
	for _, d := range []string{"/usr/sbin", "/sbin"} {
		if !strings.Contains(os.Getenv("PATH"), d) {
			_ = os.Setenv("PATH", os.Getenv("PATH")+":"+d)
		}
	}
	if p, err := exec.LookPath(command); err == nil {
		return p, nil
	}
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", pkg}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if b, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("systems: %s is missing and apt-get %s failed: %w\n%s", command, strings.Join(args, " "), err, b)
		}
	}
	p, err := exec.LookPath(command)
	if err != nil {
		return "", fmt.Errorf("systems: %s still missing after installing %s: %w", command, pkg, err)
	}
	return p, nil
}

// nginxConf is the nginx proxy-overhead peer's configuration: /api/ proxied to the upstream
// base over HTTP/1.1 keep-alive (256 idle upstream connections, as syncgate and the Go proxy
// keep), one worker per core (as Go uses every core), no access log.
const nginxConf = `worker_processes auto;
daemon off;
pid %[1]s/nginx.pid;
error_log stderr warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path %[1]s/client_body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  keepalive_requests 1000000;
  upstream api { server %[2]s; keepalive 256; }
  server {
    listen %[3]s;
    location = /healthz { return 200 "ok"; }
    location /api/ {
      proxy_pass http://api%[4]s/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`

// writeNginxConf writes nginx's configuration for addr in front of upstream (a base URL).
func writeNginxConf(env Env, addr string) (string, error) {
	up := strings.TrimPrefix(env.Upstream, "http://")
	host, path, _ := strings.Cut(up, "/")
	dir := filepath.Join(env.WorkDir, "nginx-"+portOf(addr))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("systems: nginx dir: %w", err)
	}
	conf := filepath.Join(dir, "nginx.conf")
	body := fmt.Sprintf(nginxConf, dir, host, addr, "/"+strings.TrimSuffix(path, "/"))
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		return "", fmt.Errorf("systems: nginx conf: %w", err)
	}
	return conf, nil
}
