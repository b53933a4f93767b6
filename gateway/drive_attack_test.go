package gateway_test

import (
	"strings"
	"testing"

	"github.com/syncgate/syncgate/internal/testenv"
)

// Hostile file IDs are refused before any Google call: a file ID ends up in the path of a
// request made with the user's own token, in a room name and in log lines.
func TestDriveWatchRejectsHostileFileIDs(t *testing.T) {
	t.Parallel()
	env := newDriveEnv(t, map[string]int{"alice": 1})
	env.drive.AddFile("plan1", "Plan", "alice")
	env.drive.AddFile("x", "Other", "alice")
	n := env.startDriveNode()
	_, alice := env.loginAs(n, "alice")
	ws := testenv.StartNode(t)
	connect(t, ws, "a", n.base+"/org/1", sockOpts("websocket", n.base, alice))

	hostile := map[string]string{
		"../x":                    "path traversal: files/../x leaves files.get for another Drive endpoint",
		"plan1/../x":              "path traversal inside a valid-looking ID",
		"..%2Fx":                  "encoded traversal, decoded by a proxy on the way",
		"plan1?alt=media":         "query injection: turns a metadata read into a content download",
		"plan1#frag":              "fragment: the server sees a different ID than the one checked",
		"plan1\r\nX-Evil: 1":      "CRLF: header and log-line injection",
		"plan1 ":                  "trailing space: two spellings of one room",
		"plan\u0131":              "Unicode look-alike: a room that looks like another file's",
		"drive:plan1":             "room-name injection",
		strings.Repeat("a", 4096): "4 KB: memory in rooms, caches, Redis keys and logs",
	}
	before := env.drive.Count("", "") // alice has no feed yet: nothing else calls the fake
	for id, why := range hostile {
		if got := watchRefused(t, ws, "a", map[string]any{"fileId": id}); got != "not_found" && got != "malformed" {
			t.Fatalf("drive.watch %.40q (%s): %q, want not_found or malformed", id, why, got)
		}
	}
	if after := env.drive.Count("", ""); after != before {
		t.Fatalf("%d Drive calls for hostile IDs (%v), want none: they must not reach Google", after-before, env.drive.Calls())
	}
	// The socket still works, and joined no room of a hostile ID.
	watch(t, ws, "a", "plan1", 1)
	env.drive.Touch("plan1")
	waitChanged(t, ws, "a", "plan1", 2)
}
