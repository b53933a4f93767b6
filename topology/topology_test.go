package topology

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
)

// maxProbeIPs bounds the client addresses tried to find one that nginx sends to each node.
const maxProbeIPs = 64

// aliceCookie logs in as the demo user alice, an admin of org 1.
const aliceCookie = "demo_user=alice"

// The deployment of docker-compose.yml, run without Docker: clients talk to nginx only, on
// long-polling, websocket and polling→websocket upgrade, with sockets on both nodes, and every
// socket receives the events of a PUT handled by either node.
func TestTwoNodesBehindNginx(t *testing.T) {
	topo := startTopology(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Sticky sessions: each client address keeps its node for all the requests of a polling
	// session, and different addresses reach both nodes.
	home, awayIP := -1, ""
	t.Run("sticky sessions reach both nodes", func(t *testing.T) {
		seen := map[int][]string{}
		for i := 1; i <= maxProbeIPs && (len(seen) < 2 || i <= 4); i++ {
			ip := fmt.Sprintf("127.0.0.%d", i)
			c := clientFrom(ip)
			owner := -1
			for round := 0; round < 2; round++ {
				sid, err := pollingSession(ctx, c, topo.nginx, "/org/1", aliceCookie)
				if err != nil {
					t.Fatalf("client %s, session %d through nginx: %v", ip, round+1, err)
				}
				o, err := ownerOf(ctx, topo.nodes, sid)
				if err != nil {
					t.Fatalf("client %s: %v", ip, err)
				}
				if round == 1 && o != owner {
					t.Fatalf("client %s went to %s, then to %s: not sticky", ip, topo.names[owner], topo.names[o])
				}
				owner = o
			}
			seen[owner] = append(seen[owner], ip)
			if ip == "127.0.0.1" {
				home = owner
			} else if home >= 0 && owner != home && awayIP == "" {
				awayIP = ip
			}
		}
		if len(seen) < 2 {
			t.Fatalf("nginx sent all of %d client addresses to one node: %v", maxProbeIPs, seen)
		}
		t.Logf("client addresses per node: %v", seen)
	})
	if home < 0 || awayIP == "" {
		t.FailNow()
	}

	n := testenv.StartNode(t)
	opts := func(extra map[string]any) map[string]any {
		o := map[string]any{
			"reconnection": false,
			// A browser on the page nginx serves sends this Origin.
			"extraHeaders": map[string]string{"Cookie": aliceCookie, "Origin": topo.nginx},
		}
		maps.Copy(o, extra)
		return o
	}
	type socket struct {
		name string
		opts map[string]any
		node int
	}
	sockets := []socket{
		{"polling", opts(map[string]any{"transports": []string{"polling"}}), home},
		{"websocket", opts(map[string]any{"transports": []string{"websocket"}}), home},
		{"upgrade", opts(nil), home},
		// The client's own address is what nginx hashes: this one lands on the other node.
		{"websocket-away", opts(map[string]any{"transports": []string{"websocket"}, "localAddress": awayIP}), 1 - home},
	}
	for _, s := range sockets {
		res, err := n.Connect(s.name, topo.nginx+"/org/1", s.opts)
		if err != nil {
			t.Fatalf("socket %s through nginx (to %s): %v", s.name, topo.names[s.node], err)
		}
		want := "polling"
		if strings.HasPrefix(s.name, "websocket") {
			want = "websocket"
		}
		if s.name != "upgrade" && res.Transport != want {
			t.Fatalf("socket %s connected over %q, want %q", s.name, res.Transport, want)
		}
	}
	if ev, err := n.WaitNotice("upgrade", testenv.TypeTransport, 0); err != nil {
		t.Fatalf("upgrade through nginx: %v", err)
	} else if ev.Transport != "websocket" {
		t.Fatalf("upgraded to %q, want websocket", ev.Transport)
	}

	// Each PUT goes through a different door; every socket, whichever node holds it, must get
	// its event: the nodes share events through Redis.
	puts := []struct {
		via    string
		base   string
		person int
	}{
		{"nginx", topo.nginx, 4},
		{topo.names[0] + " directly", topo.nodes[0], 5},
		{topo.names[1] + " directly", topo.nodes[1], 6},
	}
	for _, p := range puts {
		t.Run("PUT via "+p.via, func(t *testing.T) {
			putRow(t, p.base, 1, p.person)
			for _, s := range sockets {
				ev, err := n.WaitEvent(s.name, "personview.addrow", 0)
				if err != nil {
					t.Fatalf("socket %s (on %s): %v", s.name, topo.names[s.node], err)
				}
				if len(ev.Skipped) != 0 {
					t.Fatalf("socket %s received %v first", s.name, ev.Skipped)
				}
				checkRowPayload(t, ev, 1, p.person)
			}
		})
	}

	t.Run("cross-site origin refused through nginx", func(t *testing.T) {
		// Another site's page could otherwise open a socket that carries the visitor's cookies
		// (cross-site WebSocket hijacking). The check compares Origin with the Host nginx
		// passes on; this shows nginx's forwarding keeps it meaningful on both transports.
		for _, tr := range []string{"polling", "websocket"} {
			o := opts(map[string]any{"transports": []string{tr}})
			o["extraHeaders"] = map[string]string{"Cookie": aliceCookie, "Origin": "http://evil.example"}
			if _, err := n.ConnectErr("evil-"+tr, topo.nginx+"/org/1", o); err != nil {
				t.Fatalf("%s from http://evil.example: %v", tr, err)
			}
		}
	})

	t.Run("member of another org refused through nginx", func(t *testing.T) {
		// Carol belongs to org 2 only: org 1's events must not reach her.
		o := opts(nil)
		o["extraHeaders"] = map[string]string{"Cookie": "demo_user=carol", "Origin": topo.nginx}
		ce, err := n.ConnectErr("carol", topo.nginx+"/org/1", o)
		if err != nil {
			t.Fatal(err)
		}
		if ce.Message != "forbidden" {
			t.Fatalf("carol joining /org/1: %v, want forbidden", ce)
		}
	})

	t.Run("demo page and login through nginx", func(t *testing.T) {
		status, body := request(t, http.MethodGet, topo.nginx+"/", nil)
		if status != http.StatusOK || !strings.Contains(body, "<title>syncgate demo</title>") {
			t.Fatalf("GET / through nginx: %d %.200q", status, body)
		}
		status, body = request(t, http.MethodPost, topo.nginx+"/demo/login?user=alice",
			map[string]string{"Origin": topo.nginx, "Sec-Fetch-Site": "same-origin"})
		if status != http.StatusOK {
			t.Fatalf("same-origin login through nginx: %d %s", status, body)
		}
		// A cross-site form could log the visitor in as a user of the attacker's choosing.
		status, body = request(t, http.MethodPost, topo.nginx+"/demo/login?user=alice",
			map[string]string{"Origin": "http://evil.example"})
		if status != http.StatusForbidden {
			t.Fatalf("cross-site login through nginx: %d %s, want 403", status, body)
		}
	})
}

// putRow adds person to view 1's rows of org as alice, through base.
func putRow(t *testing.T, base string, org, person int) {
	t.Helper()
	u := fmt.Sprintf("%s/api/orgs/%d/people/views/1/rows/%d", base, org, person)
	status, body := request(t, http.MethodPut, u, map[string]string{"Cookie": aliceCookie})
	if status != http.StatusOK {
		t.Fatalf("PUT %s: %d %s", u, status, body)
	}
}

// checkRowPayload asserts that ev carries exactly {"viewId": view, "personId": person}.
func checkRowPayload(t *testing.T, ev testenv.Event, view, person int) {
	t.Helper()
	// A second argument is the connection-state-recovery offset (--recovery-window).
	if len(ev.Args) == 0 || len(ev.Args) > 2 {
		t.Fatalf("%v: want the payload and at most a recovery offset", ev)
	}
	dec := json.NewDecoder(bytes.NewReader(ev.Args[0]))
	dec.UseNumber()
	var got map[string]any
	if err := dec.Decode(&got); err != nil || len(got) != 2 ||
		got["viewId"] != json.Number(fmt.Sprint(view)) || got["personId"] != json.Number(fmt.Sprint(person)) {
		t.Fatalf("payload %s, want exactly {\"viewId\":%d,\"personId\":%d}", ev.Args[0], view, person)
	}
}

// request makes one request with headers and returns its status and body.
func request(t *testing.T, method, u string, headers map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 15 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}
