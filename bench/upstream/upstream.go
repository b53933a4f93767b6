package upstream

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Prefix is where the fake API serves, like the platform API.
const Prefix = "/v1"

// Handler answers:
//   - GET /v1/users/me/memberships with "Authorization: Bearer userN": every org 1..Orgs with
//     role admin; any other credential: 401;
//   - PUT and GET /v1/orgs/{o}/people/views/{v}/rows/{p}: 200 {"data":{}} for a known user,
//     else 401;
//   - GET /bench/counts: {"memberships":N}, the membership calls answered so far;
//   - GET /healthz: 200; anything else: 404.
type Handler struct {
	memberships []byte
	// MembershipDelay is how long a membership answer takes (a platform's database round
	// trip); set it before serving.
	MembershipDelay time.Duration
	calls           atomic.Int64
}

// MembershipCalls returns the membership requests received so far.
func (h *Handler) MembershipCalls() int64 { return h.calls.Load() }

// New returns a handler whose users belong to orgs 1..orgs.
func New(orgs int) *Handler {
	var b strings.Builder
	b.WriteString(`{"data":[`)
	for o := 1; o <= max(orgs, 1); o++ {
		if o > 1 {
			b.WriteByte(',')
		}
		b.WriteString(`{"organization":{"id":` + strconv.Itoa(o) + `,"title":"Org ` + strconv.Itoa(o) +
			`"},"role":"admin","profile":{"id":1,"name":"Bench"},"follow":true}`)
	}
	b.WriteString(`]}`)
	return &Handler{memberships: []byte(b.String())}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/healthz":
		w.WriteHeader(http.StatusOK)
	case r.Method == http.MethodGet && r.URL.Path == "/bench/counts":
		writeJSON(w, http.StatusOK, []byte(`{"memberships":`+strconv.FormatInt(h.calls.Load(), 10)+`}`))
	case r.Method == http.MethodGet && r.URL.Path == Prefix+"/users/me/memberships":
		h.calls.Add(1)
		if h.MembershipDelay > 0 {
			t := time.NewTimer(h.MembershipDelay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if !knownUser(r.Header.Get("Authorization")) {
			writeJSON(w, http.StatusUnauthorized, []byte(`{"error":"Unauthorized"}`))
			return
		}
		writeJSON(w, http.StatusOK, h.memberships)
	case (r.Method == http.MethodPut || r.Method == http.MethodGet) && strings.HasPrefix(r.URL.Path, Prefix+"/") && isRowPath(r.URL.Path[len(Prefix):]):
		if !knownUser(r.Header.Get("Authorization")) {
			writeJSON(w, http.StatusUnauthorized, []byte(`{"error":"Unauthorized"}`))
			return
		}
		writeJSON(w, http.StatusOK, []byte(`{"data":{}}`))
	default:
		writeJSON(w, http.StatusNotFound, []byte(`{"error":"Not Found"}`))
	}
}

// knownUser accepts "Bearer user" followed by decimal digits.
func knownUser(authz string) bool {
	tok, ok := strings.CutPrefix(authz, "Bearer user")
	if !ok || tok == "" || len(tok) > 9 {
		return false
	}
	for _, c := range tok {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isRowPath matches /orgs/{digits}/people/views/{digits}/rows/{digits}.
func isRowPath(p string) bool {
	parts := strings.Split(p, "/")
	if len(parts) != 8 || parts[0] != "" || parts[1] != "orgs" || parts[3] != "people" ||
		parts[4] != "views" || parts[6] != "rows" {
		return false
	}
	return digits(parts[2]) && digits(parts[5]) && digits(parts[7])
}

func digits(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
