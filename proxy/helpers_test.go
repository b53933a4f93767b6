package proxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/syncgate/syncgate/triggers"
)

const testTriggers = `triggers:
  - event: personview.addrow
    method: PUT
    path: /orgs/{orgId}/people/views/{viewId}/rows/{personId}
  - event: personview.deleterow
    method: DELETE
    path: /orgs/{orgId}/people/views/{viewId}/rows/{personId}
  - event: person.created
    method: POST
    path: /orgs/{orgId}/people
    from_response:
      personId: data.id
  - event: task.updated
    method: PATCH
    path: /tasks/{taskId}
    org: header:X-Org-Id
`

// recorder is a Publisher that records events, optionally failing.
type recorder struct {
	mu     sync.Mutex
	events []triggers.Event
	ch     chan triggers.Event
	err    error
}

func newRecorder() *recorder { return &recorder{ch: make(chan triggers.Event, 64)} }

func (r *recorder) Publish(_ context.Context, ev triggers.Event) error {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	r.ch <- ev
	return r.err
}

func (r *recorder) all() []triggers.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]triggers.Event(nil), r.events...)
}

// next waits for the next published event.
func (r *recorder) next(t *testing.T) triggers.Event {
	t.Helper()
	select {
	case ev := <-r.ch:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event published")
		return triggers.Event{}
	}
}

// rig is a real upstream and a real proxy, each on a 127.0.0.1 listener.
type rig struct {
	upstream *httptest.Server
	proxy    *httptest.Server
	pub      *recorder
	done     chan struct{} // one value each time the proxy handler returns
}

// newRig starts upstream (if non-nil) and a proxy in front of it at /v1.
// tweak may adjust the Config before New.
func newRig(t testing.TB, upstream http.Handler, tweak func(*Config)) *rig {
	t.Helper()
	r := &rig{pub: newRecorder(), done: make(chan struct{}, 64)}
	upURL := "http://127.0.0.1:1/v1" // no upstream: the test's tweak sets Upstream
	if upstream != nil {
		r.upstream = httptest.NewServer(upstream)
		t.Cleanup(r.upstream.Close)
		upURL = r.upstream.URL + "/v1"
	}
	set, err := triggers.Parse("test.yaml", []byte(testTriggers))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(upURL)
	cfg := Config{
		Upstream:  u,
		Triggers:  func() *triggers.Set { return set },
		Publisher: r.pub,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if tweak != nil {
		tweak(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		defer func() { r.done <- struct{}{} }()
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(r.proxy.Close)
	return r
}

// do sends a request to the proxy and returns the response with its body read.
func (r *rig) do(t testing.TB, method, path string, body io.Reader, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, r.proxy.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := r.proxy.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

// waitDone waits until the proxy handler has returned once; firing happens
// before it returns, so afterwards the recorder holds everything fired.
func (r *rig) waitDone(t testing.TB) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatal("proxy handler did not return")
	}
}

// expectNoEvents fails if anything was published.
func (r *rig) expectNoEvents(t *testing.T) {
	t.Helper()
	if evs := r.pub.all(); len(evs) != 0 {
		t.Fatalf("published %#v, want nothing", evs)
	}
}

// expectOnlyIncomplete checks that the call fired only Incomplete events (the gateway turns
// them into a resync of the org) carrying nothing, and at least one.
func (r *rig) expectOnlyIncomplete(t *testing.T) {
	t.Helper()
	evs := r.pub.all()
	if len(evs) == 0 {
		t.Fatal("published nothing, want an Incomplete event (a resync of the org, not silence)")
	}
	for _, ev := range evs {
		if !ev.Incomplete || len(ev.Data) != 0 {
			t.Fatalf("published %#v, want only empty Incomplete events", evs)
		}
	}
}

var errPublish = errors.New("publisher down")
