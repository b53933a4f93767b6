package topology

import (
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"gopkg.in/yaml.v3"

	"github.com/syncgate/syncgate/internal/testenv"
)

// The monitoring profile's services; every other service runs without a profile.
var monitoringServices = []string{"prometheus", "grafana"}

const (
	prometheusConfigTarget = "/etc/prometheus/prometheus.yml"
	grafanaProvisioning    = "/etc/grafana/provisioning"
)

// resolve returns the repository path that a container path of s is mounted from: the
// mount whose target is the path or its longest parent directory; "" when none is.
func (s composeService) resolve(t *testing.T, containerPath string) string {
	t.Helper()
	best, src := "", ""
	for _, m := range s.mounts(t) {
		if (containerPath == m.Target || strings.HasPrefix(containerPath, m.Target+"/")) && len(m.Target) > len(best) {
			best, src = m.Target, filepath.Join(m.Source, strings.TrimPrefix(containerPath, m.Target))
		}
	}
	return src
}

// adminTargets returns host:port of each gateway node's admin listener as the other
// containers reach it, failing unless it listens on every address of its container.
func adminTargets(t *testing.T, c *composeFile) []string {
	t.Helper()
	var out []string
	for _, hp := range nodeHosts(t, c) {
		name, _, _ := strings.Cut(hp, ":")
		svc := c.service(t, name)
		listen, ok := svc.Environment["SYNCGATE_ADMIN_LISTEN"]
		if !ok {
			t.Fatalf("gateway %s sets no SYNCGATE_ADMIN_LISTEN: the admin listener stays on its container's loopback", name)
		}
		host, port, err := net.SplitHostPort(listen)
		if err != nil || port == "" {
			t.Fatalf("gateway %s: SYNCGATE_ADMIN_LISTEN %q: %v", name, listen, err)
		}
		if host != "" && host != "0.0.0.0" && host != "::" {
			t.Errorf("gateway %s: admin listener on %q, which other containers cannot reach", name, listen)
		}
		for _, p := range svc.Ports {
			t.Errorf("gateway %s publishes %q: the nodes publish nothing (nginx is the way in, the admin listener stays on the compose network)", name, p)
		}
		out = append(out, name+":"+port)
	}
	return out
}

// docker-compose.yml's monitoring profile: Prometheus scrapes every gateway's admin listener
// and loads the alert rules; Grafana gets Prometheus as its data source and the dashboard;
// both publish on the host's loopback only, and without the profile nothing changes.
func TestComposeMonitoringProfile(t *testing.T) {
	c := loadCompose(t)
	root := testenv.RepoRoot(t)
	for name, s := range c.Services {
		want := []string(nil)
		if slices.Contains(monitoringServices, name) {
			want = []string{"monitoring"}
		}
		if slices.Contains(clusterServices, name) {
			want = []string{"cluster"} // compose_cluster_test.go
		}
		if !slices.Equal(s.Profiles, want) {
			t.Errorf("service %s has profiles %v, want %v", name, s.Profiles, want)
		}
	}
	for _, name := range monitoringServices {
		for _, p := range c.service(t, name).Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s publishes %q: bind it to 127.0.0.1", name, p)
			}
		}
	}

	// Prometheus: what it scrapes and which rules it loads.
	prom := c.service(t, "prometheus")
	b, err := os.ReadFile(prom.mountAt(t, prometheusConfigTarget))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("prometheus.yml: %v", err)
	}
	var scraped []string
	for _, sc := range cfg.ScrapeConfigs {
		if sc.MetricsPath != "" && sc.MetricsPath != "/metrics" {
			t.Errorf("job %s scrapes %s, want /metrics", sc.JobName, sc.MetricsPath)
		}
		for _, st := range sc.StaticConfigs {
			scraped = append(scraped, st.Targets...)
		}
	}
	want := adminTargets(t, c)
	slices.Sort(scraped)
	slices.Sort(want)
	if !slices.Equal(scraped, want) {
		t.Errorf("Prometheus scrapes %v, want every gateway's admin listener %v", scraped, want)
	}
	rules := filepath.Join(root, "deploy", "prometheus", "syncgate-rules.yaml")
	var loaded bool
	for _, rf := range cfg.RuleFiles {
		p := rf
		if !path.IsAbs(p) {
			p = path.Join(path.Dir(prometheusConfigTarget), rf)
		}
		if prom.resolve(t, p) == rules {
			loaded = true
		}
	}
	if !loaded {
		t.Errorf("Prometheus loads rule files %v, none of them mounted from %s", cfg.RuleFiles, rules)
	}
	for _, n := range nodeHosts(t, c) {
		node, _, _ := strings.Cut(n, ":")
		if d, ok := prom.DependsOn[node]; !ok || d.Condition != "service_healthy" {
			t.Errorf("prometheus does not wait for %s", node)
		}
	}

	// Grafana: the data source is the compose Prometheus; the dashboard is provisioned.
	graf := c.service(t, "grafana")
	prov := graf.resolve(t, grafanaProvisioning)
	if prov == "" {
		t.Fatalf("grafana mounts nothing at %s", grafanaProvisioning)
	}
	promPort := "9090" // the image's --web.listen-address
	for _, p := range prom.Ports {
		parts := strings.Split(p, ":")
		promPort = parts[len(parts)-1]
	}
	var sources []string
	files, _ := filepath.Glob(filepath.Join(prov, "datasources", "*.yaml"))
	for _, f := range files {
		var ds struct {
			Datasources []struct {
				Type      string `yaml:"type"`
				URL       string `yaml:"url"`
				IsDefault bool   `yaml:"isDefault"`
			} `yaml:"datasources"`
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &ds); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, d := range ds.Datasources {
			u, err := url.Parse(d.URL)
			if d.Type == "prometheus" && d.IsDefault && err == nil && u.Hostname() == "prometheus" && u.Port() == promPort {
				sources = append(sources, d.URL)
			}
		}
	}
	if len(sources) != 1 {
		t.Errorf("Grafana's default Prometheus data sources at http://prometheus:%s: %v, want one", promPort, sources)
	}
	dashboard := filepath.Join(root, "deploy", "grafana", "syncgate-dashboard.json")
	files, _ = filepath.Glob(filepath.Join(prov, "dashboards", "*.yaml"))
	var provisioned bool
	for _, f := range files {
		var dp struct {
			Providers []struct {
				Type    string `yaml:"type"`
				Options struct {
					Path string `yaml:"path"`
				} `yaml:"options"`
			} `yaml:"providers"`
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &dp); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, p := range dp.Providers {
			if p.Type == "file" && graf.resolve(t, path.Join(p.Options.Path, filepath.Base(dashboard))) == dashboard {
				provisioned = true
			}
		}
	}
	if !provisioned {
		t.Errorf("no Grafana dashboard provider reads %s", dashboard)
	}
	if home := graf.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]; home != "" && graf.resolve(t, home) != dashboard {
		t.Errorf("Grafana's home dashboard %s is not the syncgate dashboard", home)
	}
}

// promtool accepts the compose Prometheus configuration with the files mounted beside it,
// laid out as in the container.
func TestComposePrometheusConfigValid(t *testing.T) {
	promtool := testenv.OptionalTool(t, "promtool")
	c := loadCompose(t)
	prom := c.service(t, "prometheus")
	dir := t.TempDir()
	base := path.Dir(prometheusConfigTarget)
	for _, m := range prom.mounts(t) {
		rel, ok := strings.CutPrefix(m.Target, base+"/")
		if !ok {
			continue
		}
		b, err := os.ReadFile(m.Source)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(promtool, "check", "config", filepath.Join(dir, path.Base(prometheusConfigTarget))).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "1 rule files found") {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
}

// docker-compose.yml loads with compose-go, the loader of Docker Compose v2 (its schema, merge
// keys and profiles), as Debian's docker-compose v1 reads it in TestComposeConfigValid.
func TestComposeValidForComposeV2(t *testing.T) {
	root := testenv.RepoRoot(t)
	for _, profiles := range [][]string{nil, {"monitoring"}} {
		opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
			cli.WithWorkingDirectory(root), cli.WithName("syncgate"), cli.WithProfiles(profiles))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		p, err := opts.LoadProject(ctx)
		cancel()
		if err != nil {
			t.Fatalf("compose-go, profiles %v: %v", profiles, err)
		}
		names := p.ServiceNames()
		slices.Sort(names)
		want := []string{"demo-api", "nginx", "node1", "node2", "redis"}
		if profiles != nil {
			want = append(want, monitoringServices...)
			slices.Sort(want)
		}
		if !slices.Equal(names, want) {
			t.Errorf("profiles %v: services %v, want %v", profiles, names, want)
		}
		// Merge keys resolved as this package's own model reads them.
		c := loadCompose(t)
		for _, n := range []string{"node1", "node2"} {
			s, err := p.GetService(n)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range c.service(t, n).Environment {
				if got := s.Environment[k]; got == nil || *got != v {
					t.Errorf("compose v2 reads %s's %s as %v, want %q", n, k, got, v)
				}
			}
		}
	}
}
