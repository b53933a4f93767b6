package openapi

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/syncgate/syncgate/triggers"
)

// Replay: a shadow run of a trigger file over an access log, before syncgate stands in
// front of production.

// Request is one request of an access log.
type Request struct {
	Method string
	Path   string // the request target as logged: escaped, maybe with a query
	Status int
}

// combined matches the start of an nginx/Apache common or combined log line:
// host ident user [time] "METHOD TARGET PROTO" status …
var combined = regexp.MustCompile(`^\S+ \S+ \S+ \[[^\]]*\] "([A-Za-z]+) (\S+)(?: [^"]*)?" (\d{3})\b`)

// ParseLine reads one access log line: nginx/Apache combined (or common) format, or a
// JSON object with method, path and status (also request_method, uri, request_uri or url
// for the path; status as a number or a string). ok is false for anything else.
func ParseLine(line string) (Request, bool) {
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "{") {
		return parseJSONLine(line)
	}
	m := combined.FindStringSubmatch(line)
	if m == nil {
		return Request{}, false
	}
	status, _ := strconv.Atoi(m[3])
	return Request{Method: strings.ToUpper(m[1]), Path: m[2], Status: status}, true
}

func parseJSONLine(line string) (Request, bool) {
	var obj map[string]any
	if err := json.Unmarshal([]byte(line), &obj); err != nil {
		return Request{}, false
	}
	str := func(keys ...string) string {
		for _, k := range keys {
			if v, ok := obj[k].(string); ok && v != "" {
				return v
			}
		}
		return ""
	}
	r := Request{Method: strings.ToUpper(str("method", "request_method")), Path: str("path", "uri", "request_uri", "url")}
	switch v := obj["status"].(type) {
	case float64:
		r.Status = int(v)
	case string:
		r.Status, _ = strconv.Atoi(v)
	}
	if r.Method == "" || r.Path == "" || r.Status == 0 {
		return Request{}, false
	}
	return r, true
}

// TriggerCount is what one trigger would have fired over the log.
type TriggerCount struct {
	Trigger triggers.Trigger
	Events  int // events it would have sent (a resync where a from_response ID is needed)
	Orgs    int // distinct orgs they went to
	// FromHeader counts calls of the trigger's shape whose org would come from a request
	// header, which an access log does not hold: they fire only if the header names an
	// org the caller belongs to, so they are not in Events.
	FromHeader int
}

// Unmatched is one shape of 2xx mutation that no trigger matched.
type Unmatched struct {
	Method, Path string // Path shaped by triggers.PathShape, as the gateway's table
	Count        int
	Event        string // the draft event name (triggers.DraftEventName)
}

// ReplayReport is the result of a shadow run.
type ReplayReport struct {
	Lines      int // lines read
	Skipped    int // lines that are no request (FirstSkipped: the first one, 1-based)
	FirstSkip  int
	Mutations  int // POST, PUT, PATCH and DELETE requests under the API prefix
	Successful int // of those, answered 2xx: only they fire
	Triggers   []TriggerCount
	Unmatched  []Unmatched // most frequent first
}

// maxLine is the longest log line read; longer lines are skipped.
const maxLine = 1 << 20

// Replay runs every 2xx mutation of the log (paths under apiPrefix, which is stripped;
// "" for logs of the API itself) through the trigger set's matcher.
func Replay(r io.Reader, set *triggers.Set, apiPrefix string) (ReplayReport, error) {
	all := set.Triggers()
	counts := make([]TriggerCount, len(all))
	orgs := make([]map[string]bool, len(all))
	for i, t := range all {
		counts[i].Trigger = t
		orgs[i] = map[string]bool{}
	}
	unmatched := map[string]*Unmatched{}
	var rep ReplayReport
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		rep.Lines++
		req, ok := ParseLine(sc.Text())
		if !ok {
			if strings.TrimSpace(sc.Text()) != "" {
				rep.Skipped++
				if rep.FirstSkip == 0 {
					rep.FirstSkip = rep.Lines
				}
			}
			continue
		}
		path, ok := apiPath(req.Path, apiPrefix)
		if !ok || !isMutation(req.Method) {
			continue
		}
		rep.Mutations++
		if req.Status < 200 || req.Status > 299 {
			continue
		}
		rep.Successful++
		fired := set.MatchTriggers(req.Method, path, nil, nil)
		for _, f := range fired {
			counts[f.Trigger].Events++
			orgs[f.Trigger][f.Event.Org] = true
		}
		if len(fired) > 0 {
			continue
		}
		header := false
		for _, i := range set.Matching(req.Method, path) {
			if all[i].OrgFromHeader() {
				counts[i].FromHeader++
				header = true
			}
		}
		if !header {
			noteUnmatched(unmatched, req.Method, path, set.OrgParam())
		}
	}
	if err := sc.Err(); err != nil {
		return rep, fmt.Errorf("openapi: replay: line %d: %w", rep.Lines+1, err)
	}
	for i := range counts {
		counts[i].Orgs = len(orgs[i])
	}
	rep.Triggers = counts
	rep.Unmatched = sortUnmatched(unmatched)
	return rep, nil
}

func isMutation(m string) bool { return slices.Contains(methodOrder, m) }

// apiPath returns the request target's path relative to the API prefix, escaped as
// sent; ok is false for a target outside the prefix.
func apiPath(target, prefix string) (string, bool) {
	u, err := url.Parse(target)
	if err != nil {
		return "", false
	}
	p := u.EscapedPath()
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" {
		return p, true
	}
	rest, ok := strings.CutPrefix(p, prefix)
	if !ok || rest != "" && !strings.HasPrefix(rest, "/") {
		return "", false
	}
	return rest, true
}

func noteUnmatched(m map[string]*Unmatched, method, path, orgParam string) {
	shape := triggers.PathShape(path, orgParam)
	key := method + " " + shape
	u := m[key]
	if u == nil {
		u = &Unmatched{Method: method, Path: shape, Event: triggers.DraftEventName(method, shape)}
		m[key] = u
	}
	u.Count++
}

func sortUnmatched(m map[string]*Unmatched) []Unmatched {
	out := make([]Unmatched, 0, len(m))
	for _, u := range m {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b Unmatched) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Method+" "+a.Path, b.Method+" "+b.Path)
	})
	return out
}
