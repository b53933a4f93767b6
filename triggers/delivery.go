package triggers

import (
	"net/http"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Bounds of a trigger's coalesce: window. Below the minimum nothing is gained over the
// socket's own batching; above the maximum clients would stay stale for too long.
const (
	MinCoalesce = 10 * time.Millisecond
	MaxCoalesce = 10 * time.Second
)

// MetaKey is the key of Event.Data that holds an event's metadata (version_from:, meta:),
// present only when its trigger asks for metadata and some of it was found. It is the one
// key of Data whose value is not an ID: a map of the names below to bounded strings.
const MetaKey = "_meta"

// Names inside Data[MetaKey], and the values of a trigger's meta: list.
const (
	MetaVersion   = "version"   // from version_from:
	MetaRequestID = "requestId" // meta: [request_id]: the call's X-Request-Id
	MetaETag      = "etag"      // meta: [etag]: the response's ETag
)

const (
	maxVersionLen = 64  // longest version_from value
	maxETagLen    = 128 // longest ETag kept
	maxRequestID  = 64  // longest request ID kept (the gateway's own limit)
)

// delivery is how a trigger's events are delivered besides their IDs.
type delivery struct {
	coalesce    time.Duration // 0: each event at once
	versionPath []string      // version_from, split; nil when absent
	requestID   bool          // meta: request_id
	etag        bool          // meta: etag
}

// wantsMeta reports whether the trigger's events may carry Data[MetaKey].
func (d delivery) wantsMeta() bool { return d.versionPath != nil || d.requestID || d.etag }

// coalesceKey reads coalesce: DURATION (Go syntax: 200ms, 1s), bounded.
func (p *parser) coalesceKey(t *trigger, n *yaml.Node) {
	v, ok := p.scalar(n, "coalesce")
	if !ok {
		return
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < MinCoalesce || d > MaxCoalesce {
		p.addf(n.Line, "coalesce: %q must be a duration from %s to %s, such as 200ms", v, MinCoalesce, MaxCoalesce)
		return
	}
	t.delivery.coalesce = d
}

// versionFrom reads version_from: dotted.path into the response body.
func (p *parser) versionFrom(t *trigger, n *yaml.Node) {
	dotted, ok := p.scalar(n, "version_from")
	if !ok {
		return
	}
	parts := strings.Split(dotted, ".")
	if len(dotted) > maxDottedLen || len(parts) > maxDottedParts || containsEmpty(parts) {
		p.addf(n.Line, "version_from: bad path %q (want dotted keys such as data.updated_at)", dotted)
		return
	}
	t.delivery.versionPath = parts
}

// metaList reads meta: [request_id, etag].
func (p *parser) metaList(t *trigger, n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		if n.Kind != yaml.AliasNode {
			p.addf(n.Line, "meta must be a list of request_id, etag")
		}
		return
	}
	for _, item := range n.Content {
		v, ok := p.scalar(item, "meta item")
		if !ok {
			continue
		}
		switch v {
		case "request_id":
			t.delivery.requestID = true
		case "etag":
			t.delivery.etag = true
		default:
			p.addf(item.Line, "meta: unknown item %q (want request_id or etag)", v)
		}
	}
}

// checkMetaKey refuses a trigger whose own payload key would be MetaKey while it asks for
// metadata: the two would overwrite each other.
func (p *parser) checkMetaKey(t *trigger, placeholders map[string]int) {
	if !t.delivery.wantsMeta() {
		return
	}
	_, clash := placeholders[MetaKey]
	for _, fr := range t.fromResp {
		clash = clash || fr.key == MetaKey
	}
	if clash {
		p.addf(t.line, "payload key %q is reserved for metadata when version_from: or meta: is set", MetaKey)
	}
}

// meta returns the metadata of one event of t, or nil when there is none. A value that is
// missing or not of its shape is left out: metadata only lets a client skip a refetch, so
// its absence makes the client refetch, which is always safe.
func (t *trigger) meta(reqHeader, respHeader http.Header, body *lazyJSON) map[string]any {
	d := t.delivery
	if !d.wantsMeta() {
		return nil
	}
	m := map[string]any{}
	if d.versionPath != nil {
		if v, ok := body.version(d.versionPath); ok {
			m[MetaVersion] = v
		}
	}
	if d.requestID {
		if v := reqHeader.Get("X-Request-Id"); validRequestID(v) {
			m[MetaRequestID] = v
		}
	}
	if d.etag {
		if v := respHeader.Get("ETag"); validETag(v) {
			m[MetaETag] = v
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// version follows a dotted path like lookup and returns a version: a string of 1 to 64
// characters from [A-Za-z0-9._:+-] (IDs, RFC 3339 times such as 2024-05-01T12:00:00.5+02:00,
// "v12", "3.1") or a non-negative integer of at most 18 digits, given as its decimal text.
func (l *lazyJSON) version(path []string) (string, bool) {
	cur, ok := l.walk(path)
	if !ok {
		return "", false
	}
	var s string
	switch v := cur.(type) {
	case string:
		s = v
	default:
		n, isNum := numberText(v)
		if !isNum || !allDigits(n) || len(n) > maxNumDigits {
			return "", false
		}
		s = n
	}
	if !validVersion(s) {
		return "", false
	}
	return s, true
}

// validVersion is the version_from rule: [A-Za-z0-9._:+-]{1,64}.
func validVersion(s string) bool {
	if s == "" || len(s) > maxVersionLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == ':' || c == '+' || c == '-') {
			return false
		}
	}
	return true
}

// validRequestID is the gateway's rule for X-Request-Id: [A-Za-z0-9._-]{1,64}.
func validRequestID(s string) bool {
	if s == "" || len(s) > maxRequestID {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validETag accepts an entity tag as RFC 9110 writes it: optional W/, then a quoted
// string of visible ASCII without quotes, at most 128 characters in all.
func validETag(s string) bool {
	if len(s) > maxETagLen {
		return false
	}
	s = strings.TrimPrefix(s, "W/")
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' {
			return false
		}
	}
	return true
}

// describeDelivery adds the delivery options to a listed trigger.
func (t *trigger) describeDelivery(d *Trigger) {
	d.Coalesce = t.delivery.coalesce
	if t.delivery.versionPath != nil {
		d.VersionFrom = strings.Join(t.delivery.versionPath, ".")
	}
	if t.delivery.requestID {
		d.Meta = append(d.Meta, "request_id")
	}
	if t.delivery.etag {
		d.Meta = append(d.Meta, "etag")
	}
}
