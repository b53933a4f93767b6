package triggers

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// DefaultOrgParam is the path placeholder that names the org unless the file's
// org_param: names another.
const DefaultOrgParam = "orgId"

const (
	maxPathLen  = 2048 // longest request or template path considered
	maxSegments = 32   // most segments in a request or template path
)

var (
	placeholderName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	literalSegment  = regexp.MustCompile(`^[A-Za-z0-9._~!$&'()*+,;=:@-]+$`)
)

// segment is one part of a trigger's path: a literal or a whole {name} placeholder.
type segment struct {
	lit   string
	param string // placeholder name; "" for a literal
}

// parseTemplate parses a trigger path such as /orgs/{orgId}/people/{personId}.
// It returns the segments and every problem found.
func parseTemplate(path string) ([]segment, []string) {
	var problems []string
	if !strings.HasPrefix(path, "/") {
		return nil, []string{fmt.Sprintf("path %q must start with /", path)}
	}
	if len(path) > maxPathLen {
		return nil, []string{fmt.Sprintf("path is longer than %d characters", maxPathLen)}
	}
	if strings.ContainsAny(path, "?#") {
		return nil, []string{fmt.Sprintf("path %q must not contain a query or fragment", path)}
	}
	trimmed := strings.TrimSuffix(strings.TrimPrefix(path, "/"), "/")
	if trimmed == "" {
		return nil, nil
	}
	parts := strings.Split(trimmed, "/")
	if len(parts) > maxSegments {
		return nil, []string{fmt.Sprintf("path has more than %d segments", maxSegments)}
	}
	segs := make([]segment, 0, len(parts))
	seen := map[string]bool{}
	for _, part := range parts {
		switch {
		case part == "":
			problems = append(problems, fmt.Sprintf("path %q has an empty segment", path))
		case strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}") && len(part) >= 2:
			name := part[1 : len(part)-1]
			if !placeholderName.MatchString(name) {
				problems = append(problems, fmt.Sprintf("bad placeholder name %q (want [A-Za-z_][A-Za-z0-9_]{0,63})", name))
				continue
			}
			if seen[name] {
				problems = append(problems, fmt.Sprintf("placeholder {%s} appears twice in path", name))
				continue
			}
			seen[name] = true
			segs = append(segs, segment{param: name})
		case strings.ContainsAny(part, "{}"):
			problems = append(problems, fmt.Sprintf("segment %q must be a literal or a whole {name} placeholder", part))
		case part == "." || part == "..":
			problems = append(problems, fmt.Sprintf("path %q has a dot segment", path))
		case !literalSegment.MatchString(part):
			problems = append(problems, fmt.Sprintf("segment %q has characters not allowed in a literal (no %%-escapes, spaces or non-ASCII)", part))
		default:
			segs = append(segs, segment{lit: part})
		}
	}
	return segs, problems
}

// templateKey is the normalized form of a trigger path (trailing slash removed).
func templateKey(segs []segment) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		if s.param != "" {
			b.WriteString("{" + s.param + "}")
		} else {
			b.WriteString(s.lit)
		}
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

// splitRequestPath splits an escaped request path (relative to the API
// prefix) into decoded segments. It reports false for a path that must never
// match: undecodable escapes, empty segments, dot segments (raw or encoded,
// since the upstream may resolve them) or an absurd length.
func splitRequestPath(path string) ([]string, bool) {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	if len(path) > maxPathLen {
		return nil, false
	}
	path = strings.TrimPrefix(path, "/")
	path = strings.TrimSuffix(path, "/")
	if path == "" {
		return nil, true
	}
	if strings.Count(path, "/") >= maxSegments {
		return nil, false
	}
	segs := strings.Split(path, "/")
	for i, raw := range segs {
		dec := raw
		if strings.IndexByte(raw, '%') >= 0 {
			var err error
			if dec, err = url.PathUnescape(raw); err != nil {
				return nil, false
			}
		}
		if dec == "" || dec == "." || dec == ".." {
			return nil, false
		}
		segs[i] = dec
	}
	return segs, true
}
