package topology

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/syncgate/syncgate/internal/testenv"
)

// composeFile is the part of docker-compose.yml the tests read.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	Profiles    []string          `yaml:"profiles"`
	Restart     string            `yaml:"restart"`
	Healthcheck struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
}

// mount is one bind mount of a service: a repository path seen at Target in the container.
type mount struct {
	Source string // absolute path in the repository
	Target string
}

// loadCompose reads docker-compose.yml at the repository root.
func loadCompose(t *testing.T) *composeFile {
	t.Helper()
	root := testenv.RepoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatalf("read docker-compose.yml: %v", err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("parse docker-compose.yml: %v", err)
	}
	if len(c.Services) == 0 {
		t.Fatal("docker-compose.yml declares no services")
	}
	return &c
}

// service returns the named service, failing the test if there is none.
func (c *composeFile) service(t *testing.T, name string) composeService {
	t.Helper()
	s, ok := c.Services[name]
	if !ok {
		t.Fatalf("docker-compose.yml has no service %q (it has %v)", name, c.names())
	}
	return s
}

// names returns the service names, sorted.
func (c *composeFile) names() []string {
	var out []string
	for n := range c.Services {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// mounts returns the service's bind mounts of repository paths ("./src:/target[:mode]").
func (s composeService) mounts(t *testing.T) []mount {
	t.Helper()
	var out []mount
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || !strings.HasPrefix(parts[0], "./") {
			continue // a named volume
		}
		out = append(out, mount{Source: filepath.Join(testenv.RepoRoot(t), parts[0]), Target: parts[1]})
	}
	return out
}

// mountAt returns the repository path mounted at target.
func (s composeService) mountAt(t *testing.T, target string) string {
	t.Helper()
	for _, m := range s.mounts(t) {
		if m.Target == target {
			return m.Source
		}
	}
	t.Fatalf("no bind mount at %s in %v", target, s.Volumes)
	return ""
}

// healthURL returns the URL the service's health check fetches inside its container.
func (s composeService) healthURL() (string, error) {
	for _, a := range s.Healthcheck.Test {
		if strings.HasPrefix(a, "http://") {
			return a, nil
		}
	}
	return "", fmt.Errorf("health check %q fetches no http:// URL", s.Healthcheck.Test)
}

// flagValue returns the value of --name in args ("--name V" or "--name=V").
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if a == "--"+name && i+1 < len(args) {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// withFlag returns args with the value of --name replaced by v.
func withFlag(args []string, name, v string) []string {
	out := slices.Clone(args)
	for i, a := range out {
		if a == "--"+name && i+1 < len(out) {
			out[i+1] = v
			return out
		}
		if strings.HasPrefix(a, "--"+name+"=") {
			out[i] = "--" + name + "=" + v
			return out
		}
	}
	return append(out, "--"+name, v)
}
