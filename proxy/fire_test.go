package proxy

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httputil"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/syncgate/syncgate/triggers"
)

func okUpstream(status int, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
}

func TestPutFiresPoCEvent(t *testing.T) {
	r := newRig(t, okUpstream(200, `{"data":{"id":3,"first_name":"Clara"}}`), nil)
	resp, _ := r.do(t, "PUT", "/api/orgs/1/people/views/2/rows/3", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got := r.pub.next(t)
	want := triggers.Event{Org: "1", Name: "personview.addrow", Data: map[string]any{"viewId": int64(2), "personId": int64(3)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("event %#v, want %#v", got, want)
	}
	r.waitDone(t)
	if n := len(r.pub.all()); n != 1 {
		t.Fatalf("published %d events, want 1", n)
	}
}

func TestHeaderOrgFires(t *testing.T) {
	r := newRig(t, okUpstream(200, `{}`), nil)
	r.do(t, "PATCH", "/api/tasks/8", strings.NewReader("{}"), http.Header{"X-Org-Id": {"4"}})
	if ev := r.pub.next(t); ev.Org != "4" || ev.Name != "task.updated" || ev.Data["taskId"] != int64(8) {
		t.Fatalf("event %#v", ev)
	}
}

func TestFailedMutationFiresNothing(t *testing.T) {
	for _, status := range []int{400, 403, 404, 409, 500, 503} {
		r := newRig(t, okUpstream(status, `{"error":"x"}`), nil)
		resp, data := r.do(t, "PUT", "/api/orgs/1/people/views/2/rows/3", nil, nil)
		if resp.StatusCode != status || string(data) != `{"error":"x"}` {
			t.Fatalf("got %d %q", resp.StatusCode, data)
		}
		r.waitDone(t)
		r.expectNoEvents(t)
	}
}

func TestReadsFireNothing(t *testing.T) {
	var unmatched []string
	r := newRig(t, okUpstream(200, `{"data":{"id":1}}`), func(c *Config) {
		c.OnUnmatched = func(m, p string) { unmatched = append(unmatched, m+" "+p) }
	})
	for _, m := range []string{"GET", "HEAD", "OPTIONS"} {
		r.do(t, m, "/api/orgs/1/people/views/2/rows/3", nil, nil)
		r.waitDone(t)
	}
	r.expectNoEvents(t)
	if len(unmatched) != 0 {
		t.Fatalf("OnUnmatched called for reads: %v", unmatched)
	}
}

// TestFromResponseDisclosesOnlyDeclaredID: the response carries personal
// data; only the declared ID may leave in the event.
func TestFromResponseDisclosesOnlyDeclaredID(t *testing.T) {
	body := `{"data":{"id":42,"first_name":"Clara","email":"clara@example.org","phone":"+49 30 1234"}}`
	r := newRig(t, okUpstream(201, body), nil)
	resp, data := r.do(t, "POST", "/api/orgs/9/people", strings.NewReader(`{"first_name":"Clara"}`), nil)
	if resp.StatusCode != 201 || string(data) != body {
		t.Fatalf("response changed: %d %q", resp.StatusCode, data)
	}
	ev := r.pub.next(t)
	if want := map[string]any{"personId": int64(42)}; ev.Org != "9" || ev.Name != "person.created" || !reflect.DeepEqual(ev.Data, want) {
		t.Fatalf("event %#v", ev)
	}
	enc, _ := json.Marshal(ev)
	for _, secret := range []string{"Clara", "clara@example.org", "1234"} {
		if bytes.Contains(enc, []byte(secret)) {
			t.Fatalf("event discloses %q: %s", secret, enc)
		}
	}
}

// TestOversizedBodyDeliveredButNotMatched: a huge body must not be buffered
// beyond MaxMatchBody, yet reach the client intact.
func TestOversizedBodyDeliveredButNotMatched(t *testing.T) {
	big := `{"data":{"id":5,"pad":"` + strings.Repeat("x", 64<<10) + `"}}`
	for _, chunked := range []bool{false, true} {
		up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if chunked {
				_, _ = w.Write([]byte(big[:100]))
				w.(http.Flusher).Flush()
				_, _ = w.Write([]byte(big[100:]))
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			_, _ = w.Write([]byte(big))
		})
		r := newRig(t, up, func(c *Config) { c.MaxMatchBody = 1024 })
		resp, data := r.do(t, "POST", "/api/orgs/1/people", nil, nil)
		if resp.StatusCode != 200 || string(data) != big {
			t.Fatalf("chunked=%v: body not delivered intact (%d bytes)", chunked, len(data))
		}
		r.waitDone(t)
		r.expectOnlyIncomplete(t) // the ID cannot be read: the org resyncs
	}
}

func TestCompressedBodyMatched(t *testing.T) {
	plain := []byte(`{"data":{"id":77,"name":"secret"}}`)
	encoders := map[string]func(io.Writer) io.WriteCloser{
		"gzip": func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) },
		"br":   func(w io.Writer) io.WriteCloser { return brotli.NewWriter(w) },
		"zstd": func(w io.Writer) io.WriteCloser { z, _ := zstd.NewWriter(w); return z },
	}
	for enc, newWriter := range encoders {
		t.Run(enc, func(t *testing.T) {
			var buf bytes.Buffer
			zw := newWriter(&buf)
			_, _ = zw.Write(plain)
			_ = zw.Close()
			compressed := buf.Bytes()
			up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", enc)
				_, _ = w.Write(compressed)
			})
			r := newRig(t, up, nil)
			resp, data := r.do(t, "POST", "/api/orgs/1/people", nil, http.Header{"Accept-Encoding": {enc}})
			if resp.Header.Get("Content-Encoding") != enc || !bytes.Equal(data, compressed) {
				t.Fatalf("compressed body altered: %q", data)
			}
			if ev := r.pub.next(t); !reflect.DeepEqual(ev.Data, map[string]any{"personId": int64(77)}) {
				t.Fatalf("event %#v", ev)
			}
		})
	}
}

// TestGzipBombNotInflatedBeyondLimit: a small compressed body that inflates
// hugely must not be decompressed past MaxMatchBody.
func TestGzipBombNotInflatedBeyondLimit(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(`{"data":{"id":1,"pad":"`))
	_, _ = zw.Write(bytes.Repeat([]byte("A"), 8<<20))
	_, _ = zw.Write([]byte(`"}}`))
	_ = zw.Close()
	compressed := buf.Bytes()
	up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(compressed)
	})
	r := newRig(t, up, func(c *Config) { c.MaxMatchBody = 64 << 10 })
	_, data := r.do(t, "POST", "/api/orgs/1/people", nil, http.Header{"Accept-Encoding": {"gzip"}})
	if !bytes.Equal(data, compressed) {
		t.Fatal("body altered")
	}
	r.waitDone(t)
	r.expectOnlyIncomplete(t) // not inflated, so no ID: the org resyncs
}

// TestClientDisconnectMidBody: the upstream call succeeded, so triggers that
// need no body fire; those that need the (incomplete) body fire Incomplete (a
// resync of the org), never an event built from a partial body.
func TestClientDisconnectMidBody(t *testing.T) {
	for _, tc := range []struct {
		name, method, path string
		wantEvent          bool
	}{
		{"no body needed fires", "PUT", "/api/orgs/1/people/views/2/rows/3", true},
		{"body needed fires incomplete", "POST", "/api/orgs/1/people", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			var once sync.Once
			// The part sent is valid JSON on its own, so only the
			// completeness check can keep person.created from firing.
			part := `{"data":{"id":1}}`
			up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(len(part)+10))
				_, _ = w.Write([]byte(part))
				w.(http.Flusher).Flush()
				select {
				case <-release:
				case <-r.Context().Done():
				}
			})
			r := newRig(t, up, nil)
			defer once.Do(func() { close(release) })
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, tc.method, r.proxy.URL+tc.path, nil)
			resp, err := r.proxy.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			first := make([]byte, len(part))
			if _, err := io.ReadFull(resp.Body, first); err != nil {
				t.Fatal(err)
			}
			cancel() // the client goes away mid-body
			resp.Body.Close()
			if tc.wantEvent {
				if ev := r.pub.next(t); ev.Name != "personview.addrow" {
					t.Fatalf("event %#v", ev)
				}
				return
			}
			r.waitDone(t)
			r.expectOnlyIncomplete(t) // no ID from a cut body: the org resyncs
		})
	}
}

func TestPublishErrorNotSurfaced(t *testing.T) {
	r := newRig(t, okUpstream(200, `{"ok":true}`), nil)
	r.pub.err = errPublish
	resp, data := r.do(t, "PUT", "/api/orgs/1/people/views/2/rows/3", nil, nil)
	if resp.StatusCode != 200 || string(data) != `{"ok":true}` {
		t.Fatalf("got %d %q", resp.StatusCode, data)
	}
	if ev := r.pub.next(t); ev.Name != "personview.addrow" {
		t.Fatalf("event %#v", ev)
	}
}

func TestPublishContextOutlivesClient(t *testing.T) {
	ctxErr := make(chan error, 1)
	r := newRig(t, okUpstream(200, `{}`), func(c *Config) {
		c.Publisher = publisherFunc(func(ctx context.Context, ev triggers.Event) error {
			ctxErr <- ctx.Err()
			return nil
		})
	})
	r.do(t, "PUT", "/api/orgs/1/people/views/2/rows/3", nil, nil)
	select {
	case err := <-ctxErr:
		if err != nil {
			t.Fatalf("publish context already done: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing published")
	}
}

type publisherFunc func(context.Context, triggers.Event) error

func (f publisherFunc) Publish(ctx context.Context, ev triggers.Event) error { return f(ctx, ev) }

func TestRewriteHookAndOnUnmatched(t *testing.T) {
	var mu sync.Mutex
	var unmatched []string
	r := newRig(t, http.HandlerFunc(echoUpstream), func(c *Config) {
		c.Rewrite = func(pr *httputil.ProxyRequest) { pr.Out.Header.Set("Authorization", "Bearer injected") }
		c.OnUnmatched = func(m, p string) {
			mu.Lock()
			unmatched = append(unmatched, m+" "+p)
			mu.Unlock()
		}
	})
	_, data := r.do(t, "POST", "/api/orgs/1/other?x=1", strings.NewReader("{}"), nil)
	r.waitDone(t)
	var got seen
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.Header.Get("Authorization") != "Bearer injected" {
		t.Fatalf("Rewrite hook not applied: %v", got.Header)
	}
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(unmatched, []string{"POST /orgs/1/other"}) {
		t.Fatalf("OnUnmatched calls %v", unmatched)
	}
	r.expectNoEvents(t)
}

func TestNilTriggerSetFiresNothing(t *testing.T) {
	r := newRig(t, okUpstream(200, `{}`), func(c *Config) { c.Triggers = func() *triggers.Set { return nil } })
	r.do(t, "PUT", "/api/orgs/1/people/views/2/rows/3", nil, nil)
	r.waitDone(t)
	r.expectNoEvents(t)
}
