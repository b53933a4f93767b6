package multinode

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// rawSession opens a websocket Engine.IO session on addr with header, joins nsp, and
// returns the CONNECT answer: the socket ID and the private recovery ID (pid) that the
// official client keeps to itself. The session is closed at the end of the test.
func rawSession(t *testing.T, addr, nsp string, header http.Header) (sid, pid string) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	ws, resp, err := d.Dial("ws://"+addr+"/socket.io/?EIO=4&transport=websocket", header)
	if err != nil {
		t.Fatalf("raw websocket to %s: %v", addr, err)
	}
	resp.Body.Close()
	t.Cleanup(func() { _ = ws.Close() })
	_ = ws.SetReadDeadline(time.Now().Add(waitLong))
	if _, msg, err := ws.ReadMessage(); err != nil || !strings.HasPrefix(string(msg), "0{") {
		t.Fatalf("raw websocket: open packet %q, %v", msg, err)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte("40"+nsp+",")); err != nil {
		t.Fatalf("raw websocket: CONNECT: %v", err)
	}
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("raw websocket: no CONNECT answer: %v", err)
		}
		body, ok := strings.CutPrefix(string(msg), "40"+nsp+",")
		if !ok {
			if strings.HasPrefix(string(msg), "44"+nsp+",") {
				t.Fatalf("raw websocket: CONNECT to %s refused: %s", nsp, msg)
			}
			continue // a ping
		}
		var ans struct{ Sid, Pid string }
		if err := json.Unmarshal([]byte(body), &ans); err != nil || ans.Sid == "" || ans.Pid == "" {
			t.Fatalf("raw websocket: CONNECT answer %q: want sid and pid (%v)", body, err)
		}
		return ans.Sid, ans.Pid
	}
}
