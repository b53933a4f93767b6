package interop

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/syncgate/syncgate/internal/testenv"
)

// allTransports are the two Engine.IO transports; most tests run over both.
var allTransports = []string{"websocket", "polling"}

// only returns client options that pin the transport and turn reconnection off, plus extra.
func only(transport string, extra map[string]any) map[string]any {
	opts := map[string]any{"transports": []string{transport}, "reconnection": false}
	for k, v := range extra {
		opts[k] = v
	}
	return opts
}

// sameJSON reports whether got and want encode the same JSON value (maps compared by key).
func sameJSON(t *testing.T, got, want any) bool {
	t.Helper()
	return reflect.DeepEqual(normalize(t, got), normalize(t, want))
}

// assertJSON fails the test unless got and want are the same JSON value.
func assertJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	if !sameJSON(t, got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Fatalf("%s = %s, want %s", what, g, w)
	}
}

func normalize(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %#v: %v", v, err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return out
}

// waitEvent waits for event on socket name and fails if anything else arrived first.
func waitEvent(t *testing.T, node *testenv.Node, name, event string) testenv.Event {
	t.Helper()
	ev, err := node.WaitEvent(name, event, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Skipped) != 0 {
		t.Fatalf("socket %s: before %q got %v", name, event, ev.Skipped)
	}
	return ev
}

// connect connects socket name to url and fails the test on error.
func connect(t *testing.T, node *testenv.Node, name, url string, opts map[string]any) testenv.ConnectResult {
	t.Helper()
	res, err := node.Connect(name, url, opts)
	if err != nil {
		t.Fatalf("connect %s to %s: %v", name, url, err)
	}
	return res
}

// decodeBin decodes a binary argument from the driver and fails the test if it is not one.
func decodeBin(t *testing.T, raw json.RawMessage) []byte {
	t.Helper()
	b, err := testenv.DecodeBin(raw)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
