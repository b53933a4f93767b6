package topology

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// localNames turns what containers see into what the test's processes see: "service:port"
// host names into loopback addresses, and mount targets into repository paths.
type localNames struct {
	hosts  map[string]string // "demo-api:9000" → "127.0.0.1:41234"
	paths  map[string]string // "/etc/syncgate/triggers.yaml" → "/repo/examples/zetkin-poc.yaml"
	known  []string          // every compose service name, to find names left unmapped
	hostRe *regexp.Regexp    // rebuilt by addHost
}

func newLocalNames(services []string) *localNames {
	return &localNames{hosts: map[string]string{}, paths: map[string]string{}, known: services}
}

// addHost maps service:port (as in "http://demo-api:9000/v1") to a loopback address.
func (l *localNames) addHost(service, port, local string) {
	l.hosts[service+":"+port] = local
	keys := make([]string, 0, len(l.hosts))
	for k := range l.hosts {
		keys = append(keys, regexp.QuoteMeta(k))
	}
	sort.Sort(sort.Reverse(sort.StringSlice(keys)))
	// A host name starts after a non-name character and its port ends before a non-digit.
	l.hostRe = regexp.MustCompile(`(^|[^A-Za-z0-9_.-])(` + strings.Join(keys, "|") + `)([^0-9]|$)`)
}

// addPath maps a container path (a mount target) to a repository path.
func (l *localNames) addPath(target, source string) { l.paths[target] = source }

// apply rewrites s; it is an error if s still names a compose service with a port afterwards
// (the compose file gained a dependency the test does not run).
func (l *localNames) apply(s string) (string, error) {
	for target, source := range l.paths {
		if s == target {
			s = source
			break
		}
		if rest, ok := strings.CutPrefix(s, target+"/"); ok {
			s = source + "/" + rest
			break
		}
	}
	// Names in a list ("a:1,b:2") share the separator matched around each: repeat until none
	// is left.
	for i := 0; l.hostRe != nil && i < len(l.hosts); i++ {
		next := l.hostRe.ReplaceAllStringFunc(s, func(m string) string {
			sub := l.hostRe.FindStringSubmatch(m)
			return sub[1] + l.hosts[sub[2]] + sub[3]
		})
		if next == s {
			break
		}
		s = next
	}
	for _, name := range l.known {
		re := regexp.MustCompile(`(^|[^A-Za-z0-9_.-])` + regexp.QuoteMeta(name) + `:[0-9]+`)
		if re.MatchString(s) {
			return "", fmt.Errorf("%q names service %s, which the topology test does not map to a local address", s, name)
		}
	}
	return s, nil
}

// applyAll rewrites every element of ss.
func (l *localNames) applyAll(ss []string) ([]string, error) {
	out := make([]string, len(ss))
	for i, s := range ss {
		var err error
		if out[i], err = l.apply(s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// localHealthURL turns a container's health-check URL into the same path at local, after
// checking that it targets the port the service listens on.
func localHealthURL(containerURL, listenPort, local string) (string, error) {
	u, err := url.Parse(containerURL)
	if err != nil {
		return "", fmt.Errorf("health check URL %q: %w", containerURL, err)
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	if port != listenPort {
		return "", fmt.Errorf("health check %s targets port %s, but the service listens on %s", containerURL, port, listenPort)
	}
	u.Host = local
	return u.String(), nil
}

// portOfListen returns the port of a listen address such as ":8080" or "0.0.0.0:9000".
func portOfListen(addr string) (string, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %w", addr, err)
	}
	return port, nil
}
