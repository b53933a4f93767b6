package triggers

import (
	"fmt"
	"net/http"
	"strings"
)

// Miss is the trigger that came nearest to firing for a call that fired nothing, and
// what differs between them.
type Miss struct {
	Line    int    // the trigger's line in the file
	Event   string // the event it fires
	Method  string
	Path    string   // its path template, e.g. /orgs/{orgId}/people/{personId}
	Reasons []string // each difference, e.g. `segment 3: the trigger wants "views", the call has "view"`
}

// Nearest explains a call (method, path relative to the API prefix, escaped as sent; the
// request header) that fires no trigger: the trigger with the fewest differences (the
// first in the file among equals) and what they are — the method, a literal segment, a
// placeholder whose segment is not an ID (or not an org ID), the path's length, or the
// org header. ok is false when there is no trigger to compare with: the set is empty, or
// the path is one no trigger ever matches (Reasons then says why).
func (s *Set) Nearest(method, path string, h http.Header) (Miss, bool) {
	segs, ok := splitRequestPath(path)
	if !ok {
		return Miss{Reasons: []string{"the path has an empty or dot segment (raw or %-encoded), a bad %-escape, or is too long: no trigger ever fires for it"}}, false
	}
	if s == nil || len(s.triggers) == 0 {
		return Miss{Reasons: []string{"the file has no triggers"}}, false
	}
	best, bestScore := Miss{}, -1
	for _, t := range s.triggers {
		reasons, score := s.differences(t, strings.ToUpper(method), segs, h)
		if bestScore < 0 || score < bestScore {
			best, bestScore = Miss{Line: t.line, Event: t.name, Method: t.method, Path: templateKey(t.segs), Reasons: reasons}, score
		}
	}
	return best, true
}

// differences lists what keeps t from firing for the call, and a score: one per
// difference, a different path length counting as one plus its length difference.
func (s *Set) differences(t *trigger, method string, segs []string, h http.Header) ([]string, int) {
	var reasons []string
	score := 0
	if method != t.method {
		reasons = append(reasons, fmt.Sprintf("method: the trigger is for %s, the call is %s", t.method, method))
		score++
	}
	if len(segs) != len(t.segs) {
		reasons = append(reasons, fmt.Sprintf("length: the trigger's path has %d segments, the call's has %d", len(t.segs), len(segs)))
		score += 1 + abs(len(segs)-len(t.segs))
	}
	for i := 0; i < len(segs) && i < len(t.segs); i++ {
		if r := s.segmentDifference(t, i, segs[i]); r != "" {
			reasons = append(reasons, r)
			score++
		}
	}
	if t.orgKind == orgFromHeader {
		if r := s.headerDifference(t, h); r != "" {
			reasons = append(reasons, r)
			score++
		}
	}
	return reasons, score
}

// segmentDifference says why segment i of the call (decoded) does not fit t, or "".
func (s *Set) segmentDifference(t *trigger, i int, seg string) string {
	sg := t.segs[i]
	switch {
	case sg.param == "":
		if seg != sg.lit {
			return fmt.Sprintf("segment %d: the trigger wants %q, the call has %q", i+1, sg.lit, seg)
		}
	case !isID(seg):
		return fmt.Sprintf("segment %d {%s}: %q is not an ID ([A-Za-z0-9_-]{1,64})", i+1, sg.param, seg)
	case t.orgKind == orgFromPath && t.orgIndex == i:
		if _, ok := s.ids.Canonical(seg); !ok {
			return fmt.Sprintf("segment %d {%s}: %q is not an org ID (%s, --org-id-format %s)", i+1, sg.param, seg, s.ids.Describe(), s.ids)
		}
	}
	return ""
}

// headerDifference says why the org header of the call does not name an org, or "".
func (s *Set) headerDifference(t *trigger, h http.Header) string {
	vals := h.Values(t.orgHeader)
	switch {
	case len(vals) == 0:
		return fmt.Sprintf("org: the trigger reads the org from the header %s, which the call does not send", t.orgHeader)
	case len(vals) > 1:
		return fmt.Sprintf("org: the call sends the header %s %d times; the trigger needs exactly one", t.orgHeader, len(vals))
	}
	if _, ok := s.ids.Canonical(strings.TrimSpace(vals[0])); !ok {
		return fmt.Sprintf("org: header %s: %q is not an org ID (%s, --org-id-format %s)", t.orgHeader, vals[0], s.ids.Describe(), s.ids)
	}
	return ""
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
