package triggers

import (
	"fmt"
	"net/textproto"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

const (
	maxEventLen    = 128 // longest event name
	maxDottedLen   = 256 // longest from_response path
	maxDottedParts = 32  // most parts in a from_response path
)

var (
	eventName = regexp.MustCompile(`^[a-z0-9_.:-]+$`)
	// headerToken is an HTTP header field name (RFC 9110 token).
	headerToken = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")
	entryKeys   = []string{"event", "method", "path", "org", "room", "from_response", "coalesce", "version_from", "meta"}
	mutating    = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "DELETE": true}
)

// topKeys are the keys of the file's top-level mapping.
var topKeys = []string{"org_param", "triggers", "rooms", "client_events", "ignore"}

// document walks the top-level mapping: the org's placeholder name, the triggers, and
// the rooms and client events sockets may use (client.go). Every part is checked even
// when another is missing or wrong, so one run reports every problem.
func (p *parser) document(root *yaml.Node) ([]*trigger, []roomTemplate, map[string]*ClientEvent) {
	if root.Kind != yaml.MappingNode {
		p.addf(root.Line, "top level must be a mapping with a triggers: key")
		return nil, nil, nil
	}
	var list, rooms, clientEvents, orgParam *yaml.Node
	p.pairs(root, func(key string, k, v *yaml.Node) {
		switch key {
		case "org_param":
			orgParam = v
		case "triggers":
			list = v
		case "rooms":
			rooms = v
		case "client_events":
			clientEvents = v
		case "ignore":
			p.ignores = p.ignoreList(v)
		default:
			p.addf(k.Line, "unknown key %q (want one of %s)", key, strings.Join(topKeys, ", "))
		}
	})
	// org_param first: it decides what the other parts reserve, wherever it is in the file.
	if orgParam != nil {
		p.orgParamKey(orgParam)
	}
	rts := p.rooms(rooms)
	ces := p.clientEvents(clientEvents)
	if list == nil {
		p.addf(root.Line, "missing top-level triggers: key")
		return nil, rts, ces
	}
	return p.triggerList(list), rts, ces
}

// orgParamKey reads org_param: NAME, the path placeholder that holds the org.
func (p *parser) orgParamKey(n *yaml.Node) {
	v, ok := p.scalar(n, "org_param")
	if !ok {
		p.orgParamBad = true
		return
	}
	if inner, braced := strings.CutPrefix(v, "{"); braced && strings.HasSuffix(inner, "}") {
		p.addf(n.Line, "org_param: write the placeholder's name without braces (org_param: %s)", strings.TrimSuffix(inner, "}"))
		p.orgParamBad = true
		return
	}
	if !placeholderName.MatchString(v) {
		p.addf(n.Line, "org_param %q is not a placeholder name (want [A-Za-z_][A-Za-z0-9_]{0,63})", v)
		p.orgParamBad = true
		return
	}
	p.orgParam = v
}

// triggerList validates the triggers: list.
func (p *parser) triggerList(list *yaml.Node) []*trigger {
	switch {
	case list.Kind == yaml.ScalarNode && list.Tag == "!!null":
		return nil // "triggers:" with nothing: an empty list
	case list.Kind != yaml.SequenceNode:
		if list.Kind != yaml.AliasNode {
			p.addf(list.Line, "triggers must be a list")
		}
		return nil
	}
	var ts []*trigger
	seen := map[string]int{}
	for _, item := range list.Content {
		t := p.entry(item)
		if t == nil {
			continue
		}
		key := t.method + " " + templateKey(t.segs) + " " + t.name
		if first, dup := seen[key]; dup {
			p.addf(t.line, "duplicate trigger: %s %s already fires %s at line %d", t.method, templateKey(t.segs), t.name, first)
			continue
		}
		seen[key] = t.line
		ts = append(ts, t)
	}
	return ts
}

// pairs calls fn for each key of a mapping, reporting non-string and duplicate keys.
func (p *parser) pairs(m *yaml.Node, fn func(key string, k, v *yaml.Node)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!null" {
			if k.Kind != yaml.AliasNode {
				p.addf(k.Line, "keys must be strings")
			}
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.addf(k.Line, "duplicate key %q (first at line %d)", k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		fn(k.Value, k, v)
	}
}

// scalar returns the text of a scalar value, reporting anything else.
// A null or empty value reports "is empty".
func (p *parser) scalar(n *yaml.Node, what string) (string, bool) {
	switch {
	case n.Kind == yaml.AliasNode:
		return "", false // already reported
	case n.Kind != yaml.ScalarNode:
		p.addf(n.Line, "%s must be a single value, not a list or mapping", what)
		return "", false
	case n.Tag == "!!null" || n.Value == "":
		p.addf(n.Line, "%s is empty", what)
		return "", false
	case n.Tag != "!!str" && n.Tag != "!!int" && n.Tag != "!!float" && n.Tag != "!!bool":
		p.addf(n.Line, "%s has unsupported tag %s", what, n.Tag)
		return "", false
	}
	return n.Value, true
}

// entry validates one list item; it returns nil if anything is wrong.
func (p *parser) entry(item *yaml.Node) *trigger {
	if item.Kind != yaml.MappingNode {
		if item.Kind != yaml.AliasNode {
			p.addf(item.Line, "each trigger must be a mapping with event, method and path")
		}
		return nil
	}
	before := len(p.problems)
	fields := map[string]*yaml.Node{}
	p.pairs(item, func(key string, k, v *yaml.Node) {
		for _, known := range entryKeys {
			if key == known {
				fields[key] = v
				return
			}
		}
		p.addf(k.Line, "unknown key %q (want one of %s)", key, strings.Join(entryKeys, ", "))
	})
	t := &trigger{line: item.Line}
	for _, req := range []string{"event", "method", "path"} {
		if fields[req] == nil {
			p.addf(item.Line, "trigger is missing %s", req)
		}
	}
	if n := fields["event"]; n != nil {
		t.name = p.event(n)
	}
	if n := fields["method"]; n != nil {
		t.method = p.method(n)
	}
	placeholders := map[string]int{} // name → segment index
	pathOK := false                  // the path parsed cleanly, so a missing org placeholder is meaningful
	if n := fields["path"]; n != nil {
		if path, ok := p.scalar(n, "path"); ok {
			segs, problems := parseTemplate(path)
			pathOK = len(problems) == 0
			for _, msg := range problems {
				p.addf(n.Line, "%s", msg)
			}
			t.segs = segs
			for i, s := range segs {
				if s.param != "" {
					placeholders[s.param] = i
				}
			}
		}
	}
	p.org(t, item, fields["org"], placeholders, pathOK)
	if n := fields["from_response"]; n != nil {
		t.fromResp = p.fromResponse(n, placeholders)
	}
	if n := fields["room"]; n != nil {
		p.triggerRoom(t, n, placeholders)
	}
	if n := fields["coalesce"]; n != nil {
		p.coalesceKey(t, n)
	}
	if n := fields["version_from"]; n != nil {
		p.versionFrom(t, n)
	}
	if n := fields["meta"]; n != nil {
		p.metaList(t, n)
	}
	p.checkMetaKey(t, placeholders)
	if len(p.problems) > before {
		return nil
	}
	return t
}

// triggerRoom reads a trigger's room: template. Its placeholders are the path's, the
// from_response keys, and the org's (org_param, or the one org: "{NAME}" names), which
// expands to the event's org.
func (p *parser) triggerRoom(t *trigger, n *yaml.Node, placeholders map[string]int) {
	tmpl, ok := p.scalar(n, "room")
	if !ok {
		return
	}
	known := func(name string) bool {
		if _, ok := placeholders[name]; ok || name == p.orgParam {
			return true
		}
		for _, fr := range t.fromResp {
			if fr.key == name {
				return true
			}
		}
		return false
	}
	parts, problems := parseRoom(tmpl, known)
	for _, msg := range problems {
		p.addf(n.Line, "%s", msg)
	}
	for i, part := range parts {
		parts[i].org = part.param != "" && (part.param == p.orgParam || part.param == t.orgName)
	}
	t.room, t.roomLine, t.roomText = parts, n.Line, tmpl
}

func (p *parser) event(n *yaml.Node) string {
	name, ok := p.scalar(n, "event")
	if !ok {
		return ""
	}
	if len(name) > maxEventLen || !eventName.MatchString(name) {
		p.addf(n.Line, "bad event name %q (want [a-z0-9_.:-], at most %d characters)", name, maxEventLen)
	}
	return name
}

func (p *parser) method(n *yaml.Node) string {
	m, ok := p.scalar(n, "method")
	if !ok {
		return ""
	}
	switch up := strings.ToUpper(m); {
	case mutating[m]:
	case mutating[up]:
		p.addf(n.Line, "method %q must be upper-case: %s", m, up)
	default:
		p.addf(n.Line, "method %q is not a mutation (want POST, PUT, PATCH or DELETE)", m)
	}
	return m
}

// org sets where the trigger's org comes from: the org_param placeholder of the path
// ({orgId} unless renamed), another path placeholder (org: "{team}"), a request header
// (org: header:NAME) or a fixed org ID (org: 7, org: acme) in the set's format.
func (p *parser) org(t *trigger, item, n *yaml.Node, placeholders map[string]int, pathOK bool) {
	idx, inPath := placeholders[p.orgParam]
	if n == nil {
		switch {
		case inPath:
			t.orgKind, t.orgIndex, t.orgName = orgFromPath, idx, p.orgParam
		case pathOK && !p.orgParamBad:
			p.addf(item.Line, "no org source: the path has no {%s} and there is no org: key, so the trigger would broadcast to no namespace", p.orgParam)
		}
		return
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[1].Tag == "!!null" {
		// org: {team} unquoted is a YAML mapping, not the placeholder.
		p.addf(n.Line, "org: {%s} must be quoted: org: \"{%s}\"", n.Content[0].Value, n.Content[0].Value)
		return
	}
	v, ok := p.scalar(n, "org")
	if !ok {
		return
	}
	if inPath && v != "{"+p.orgParam+"}" {
		p.addf(n.Line, "org: conflicts with {%s} in the path, which already names the org", p.orgParam)
		return
	}
	switch {
	case strings.HasPrefix(v, "header:"):
		name := strings.TrimSpace(strings.TrimPrefix(v, "header:"))
		if !headerToken.MatchString(name) {
			p.addf(n.Line, "org: header name %q is not a valid header name", name)
			return
		}
		t.orgKind, t.orgHeader = orgFromHeader, textproto.CanonicalMIMEHeaderKey(name)
	case strings.HasPrefix(v, "{"):
		p.orgPlaceholder(t, n, v, placeholders, pathOK)
	default:
		org, ok := p.ids.Canonical(v)
		if !ok {
			p.addf(n.Line, "org: %q must be header:NAME, {PLACEHOLDER} or an org ID (%s with --org-id-format %s)", v, p.ids.Describe(), p.ids)
			return
		}
		t.orgKind, t.orgFixed = orgFixed, org
	}
}

// orgPlaceholder reads org: "{NAME}": the org is the path placeholder NAME.
func (p *parser) orgPlaceholder(t *trigger, n *yaml.Node, v string, placeholders map[string]int, pathOK bool) {
	name, closed := strings.CutSuffix(v[1:], "}")
	if !closed || !placeholderName.MatchString(name) {
		p.addf(n.Line, "org: %q is not a {NAME} placeholder (NAME: [A-Za-z_][A-Za-z0-9_]{0,63})", v)
		return
	}
	i, ok := placeholders[name]
	if !ok {
		if pathOK {
			p.addf(n.Line, "org: %q names no placeholder of the path %s", v, templateKey(t.segs))
		}
		return
	}
	t.orgKind, t.orgIndex, t.orgName = orgFromPath, i, name
}

// fromResponse validates the from_response mapping of key: dotted.path.
func (p *parser) fromResponse(n *yaml.Node, placeholders map[string]int) []fromResponse {
	if n.Kind != yaml.MappingNode {
		if n.Kind != yaml.AliasNode {
			p.addf(n.Line, "from_response must be a mapping of key: dotted.path")
		}
		return nil
	}
	if len(n.Content) == 0 {
		p.addf(n.Line, "from_response is empty")
		return nil
	}
	var out []fromResponse
	p.pairs(n, func(key string, k, v *yaml.Node) {
		_, clash := placeholders[key]
		switch {
		case !placeholderName.MatchString(key):
			p.addf(k.Line, "bad from_response key %q (want [A-Za-z_][A-Za-z0-9_]{0,63})", key)
			return
		case key == p.orgParam:
			p.addf(k.Line, "from_response key %q is reserved: it names the org", key)
			return
		case clash:
			p.addf(k.Line, "from_response key %q clashes with the path placeholder {%s}", key, key)
			return
		}
		dotted, ok := p.scalar(v, fmt.Sprintf("from_response %s", key))
		if !ok {
			return
		}
		parts := strings.Split(dotted, ".")
		if len(dotted) > maxDottedLen || len(parts) > maxDottedParts || containsEmpty(parts) {
			p.addf(v.Line, "from_response %s: bad path %q (want dotted keys such as data.id)", key, dotted)
			return
		}
		out = append(out, fromResponse{key: key, path: parts})
	})
	return out
}

func containsEmpty(parts []string) bool {
	for _, s := range parts {
		if s == "" {
			return true
		}
	}
	return false
}
