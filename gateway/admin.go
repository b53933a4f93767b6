package gateway

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/syncgate/syncgate/namespaces"
	"github.com/syncgate/syncgate/triggers"
)

// The admin listener (--admin-listen) is for back-office callers, never browsers:
// POST /v1/publish lets jobs and other services that change data outside the proxy fire
// the same IDs-only events, on every node.

const (
	maxPublishBody  = 1 << 20
	maxPublishBatch = 1000
)

// AdminHandler returns the routes of the admin listener.
func (g *Gateway) AdminHandler() http.Handler {
	r := chi.NewRouter()
	r.Post("/v1/publish", g.publishAPI)
	r.Handle("/socket.io/", g.adminUI) // the Socket.IO Admin UI (adminui.go)
	r.Handle("/metrics", g.metrics.handler())
	r.Get("/status", g.statusHTML)
	r.Get("/v1/status", g.statusJSON)
	r.Get("/status.json", g.statusJSON) // the status page's JSON twin, for scripts (README "Status page")
	r.Get("/v1/unmatched", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(g.Unmatched())
	})
	return r
}

// publishRequest is one event to publish.
type publishRequest struct {
	Org   json.RawMessage `json:"org"` // a JSON string or number
	Event string          `json:"event"`
	Data  any             `json:"data"`
	Room  string          `json:"room,omitempty"`
}

func (g *Gateway) publishAPI(w http.ResponseWriter, r *http.Request) {
	if !g.adminAuthorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="syncgate-admin"`)
		jsonError(w, http.StatusUnauthorized, "unauthorized", -1)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPublishBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			jsonError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", maxPublishBody), -1)
			return
		}
		jsonError(w, http.StatusBadRequest, "unreadable body", -1)
		return
	}
	reqs, err := decodePublish(body)
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error(), -1)
		return
	}
	set := g.triggers.Load()
	bs := make([]*namespaces.Broadcast, 0, len(reqs))
	for i, pr := range reqs {
		b, err := g.validatePublish(set, pr)
		if err != nil {
			jsonError(w, http.StatusBadRequest, err.Error(), i)
			return
		}
		bs = append(bs, b)
	}
	for _, b := range bs { // all valid: publish them all
		if err := g.sio.Broadcast(b); err != nil {
			g.log.Error("publish API: broadcast failed", "nsp", b.Nsp, "event", b.Event, "err", err)
			jsonError(w, http.StatusServiceUnavailable, "broadcast failed", -1)
			return
		}
		g.metrics.eventsFired.WithLabelValues(b.Event).Inc()
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"published":%d}`+"\n", len(bs))
}

// adminAuthorized compares the bearer token in constant time; no token configured means
// the publish API is off.
func (g *Gateway) adminAuthorized(r *http.Request) bool {
	if g.cfg.AdminToken == "" {
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(g.cfg.AdminToken)) == 1
}

// decodePublish accepts one object or an array of them.
func decodePublish(body []byte) ([]publishRequest, error) {
	trimmed := strings.TrimSpace(string(body))
	dec := json.NewDecoder(strings.NewReader(trimmed))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	var reqs []publishRequest
	if strings.HasPrefix(trimmed, "[") {
		if err := dec.Decode(&reqs); err != nil {
			return nil, fmt.Errorf("bad JSON: %v", err)
		}
	} else {
		var one publishRequest
		if err := dec.Decode(&one); err != nil {
			return nil, fmt.Errorf("bad JSON: %v", err)
		}
		reqs = []publishRequest{one}
	}
	if dec.More() {
		return nil, errors.New("bad JSON: trailing data")
	}
	if len(reqs) == 0 || len(reqs) > maxPublishBatch {
		return nil, fmt.Errorf("want 1 to %d events", maxPublishBatch)
	}
	return reqs, nil
}

// validatePublish applies the trigger rules to one published event.
func (g *Gateway) validatePublish(set *triggers.Set, pr publishRequest) (*namespaces.Broadcast, error) {
	org, ok := g.publishOrg(pr.Org)
	if !ok {
		return nil, fmt.Errorf("org must be an organization ID: %s, as a JSON string or number", g.ids.Describe())
	}
	if !triggers.ValidEventName(pr.Event) {
		return nil, errors.New("bad event name (want [a-z0-9_.:-])")
	}
	if !set.Knows(pr.Event) && !slices.Contains(g.cfg.PublishEvents, pr.Event) {
		return nil, fmt.Errorf("event %q is neither in the trigger file nor in --publish-events", pr.Event)
	}
	data := map[string]any{}
	if pr.Data != nil {
		var err error
		if data, err = triggers.ValidateIDs(pr.Data); err != nil {
			return nil, err
		}
	}
	if !validateRoom(set, pr.Room) {
		return nil, fmt.Errorf("room %q is not declared", pr.Room)
	}
	b := &namespaces.Broadcast{Nsp: g.orgNamespace(org), Event: pr.Event, Args: []any{data}}
	if pr.Room != "" {
		b.Rooms = []string{pr.Room}
	}
	return b, nil
}

// publishOrg reads the org of a published event, a JSON string ("acme-corp", "42") or a
// JSON integer (42), and returns it canonical in --org-id-format: with integer IDs "007"
// is org 7; with text IDs a string is taken as it is and a number as its digits.
func (g *Gateway) publishOrg(raw json.RawMessage) (string, bool) {
	s := string(raw)
	if len(raw) > 0 && raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false
		}
	} else if !decimal(s) { // a number: digits only (no sign, fraction or exponent); not null
		return "", false
	}
	return g.ids.Canonical(s)
}

func decimal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func jsonError(w http.ResponseWriter, status int, msg string, index int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]any{"error": msg}
	if index >= 0 {
		body["index"] = index
	}
	_ = json.NewEncoder(w).Encode(body)
}
