package gateway_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/triggers"
)

// clientFile declares a room and two client events besides two triggers.
const clientFile = `triggers:
  - event: personview.addrow
    method: PUT
    path: /orgs/{orgId}/people/views/{viewId}/rows/{personId}
  - event: view.updated
    method: PATCH
    path: /orgs/{orgId}/people/views/{viewId}
    room: view:{viewId}
rooms:
  - view:{viewId}
client_events:
  - event: view.cell.select
    fields: {viewId: id, rowId: id, columnId: id}
    room: view:{viewId}
  - event: user.typing
    fields: {viewId: id}
`

func clientTriggers(t testing.TB) *triggers.Set {
	t.Helper()
	set, err := triggers.Parse("client.yaml", []byte(clientFile))
	if err != nil {
		t.Fatalf("parse client.yaml: %v", err)
	}
	return set
}

// members is member1 plus dave (org 2) and erin (orgs 1 and 2).
func members(t *testing.T) *testenv.FakeAPI {
	api := member1(t)
	api.SetMemberships("dave", testenv.Membership{Org: 2, Role: "admin"})
	api.SetMemberships("erin", testenv.Membership{Org: 1, Role: "admin"}, testenv.Membership{Org: 2, Role: "admin"})
	return api
}

// ackReply is the gateway's answer to a subscribe or a client event.
type ackReply struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// emitAck emits event on socket name asking for an ack and returns the gateway's answer.
func emitAck(t *testing.T, n *testenv.Node, name, event string, args ...any) ackReply {
	t.Helper()
	raw, err := n.EmitAck(name, 0, event, args...)
	if err != nil {
		t.Fatalf("emit %q on %s: %v", event, name, err)
	}
	var r ackReply
	if len(raw) != 1 {
		t.Fatalf("emit %q on %s: ack %s, want one argument", event, name, raw)
	}
	if err := json.Unmarshal(raw[0], &r); err != nil {
		t.Fatalf("emit %q on %s: ack %s: %v", event, name, raw[0], err)
	}
	return r
}

// mustAck is emitAck asserting the answer: "" for ok, else the error.
func mustAck(t *testing.T, n *testenv.Node, want, name, event string, args ...any) {
	t.Helper()
	r := emitAck(t, n, name, event, args...)
	if want == "" && (!r.OK || r.Error != "") || want != "" && (r.OK || r.Error != want) {
		t.Fatalf("emit %q %.120v on %s: ack %+v, want %q", event, args, name, r, want)
	}
}

// assertPayload checks that argument 0 of ev is exactly want: int64 values must arrive as
// JSON numbers, string values as strings. The only other argument allowed is the recovery
// offset.
func assertPayload(t *testing.T, ev testenv.Event, want map[string]any) {
	t.Helper()
	if len(ev.Args) != 1 && len(ev.Args) != 2 {
		t.Fatalf("event %v: %d args, want the payload (and a recovery offset)", ev, len(ev.Args))
	}
	if len(ev.Args) == 2 {
		var offset string
		if err := ev.Arg(1, &offset); err != nil || offset == "" {
			t.Fatalf("event %v: second arg is not a recovery offset", ev)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(ev.Args[0]))
	dec.UseNumber()
	var got map[string]any
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("event %v: payload is not a JSON object: %v", ev, err)
	}
	if len(got) != len(want) {
		t.Fatalf("event %v: payload %v, want exactly %v", ev, got, want)
	}
	for k, w := range want {
		switch w := w.(type) {
		case int64:
			num, ok := got[k].(json.Number)
			if n, err := num.Int64(); !ok || err != nil || n != w {
				t.Fatalf("event %v: %q = %v, want the number %d", ev, k, got[k], w)
			}
		case string:
			if s, ok := got[k].(string); !ok || s != w {
				t.Fatalf("event %v: %q = %v, want the string %q", ev, k, got[k], w)
			}
		default:
			t.Fatalf("assertPayload: unsupported want %T", w)
		}
	}
}

// A declared client event reaches every other socket of the org, the same user's other tab
// included, stamped with the sender's socket ID, and never comes back to its sender.
func TestClientEventRelayedToOthersNotSender(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := startGateway(t, members(t), clientTriggers(t))
			n := testenv.StartNode(t)
			a := connect(t, n, "a", h.url("/org/1"), opts(tr, cookie("alice")))
			connect(t, n, "a2", h.url("/org/1"), opts(tr, cookie("alice")))
			b := connect(t, n, "b", h.url("/org/1"), opts(tr, cookie("bob")))
			connect(t, n, "c", h.url("/org/2"), opts(tr, cookie("carol")))

			mustAck(t, n, "", "a", "user.typing", map[string]any{"viewId": 2})
			for _, s := range []string{"b", "a2"} {
				assertPayload(t, waitOnly(t, n, s, "user.typing"), map[string]any{"viewId": int64(2), "by": a.Sid})
			}
			// Barrier: the next relay to a is b's; nothing of a's own came before it.
			mustAck(t, n, "", "b", "user.typing", map[string]any{"viewId": "7"})
			assertPayload(t, waitOnly(t, n, "a", "user.typing"), map[string]any{"viewId": int64(7), "by": b.Sid})
			// Org 2 saw neither.
			h.mustDo(200, "PUT", "/api/orgs/2/people/views/7/rows/8", nil, "")
			assertIDs(t, waitOnly(t, n, "c", "personview.addrow"), map[string]int64{"viewId": 7, "personId": 8})
		})
	}
}

// Anything but a declared event with exactly its fields, each an ID, is refused and relayed
// to no one: a socket must not be able to broadcast arbitrary data to its org, forge the
// server's events, or reach another org.
func TestClientEventRefusedNotRelayed(t *testing.T) {
	cases := []struct {
		name  string
		event string
		args  []any
		want  string
	}{
		{"undeclared event", "view.delete", []any{map[string]any{"viewId": 2}}, "undeclared"},
		// A forged trigger event would make every app believe the server changed a row.
		{"forged trigger event", "personview.addrow", []any{map[string]any{"viewId": 2, "personId": 3}}, "undeclared"},
		// A forged resync makes every app in the org re-fetch everything (load amplification).
		{"forged resync", "resync", []any{map[string]any{"reason": "x"}}, "undeclared"},
		{"forged revoked", gateway.EventRevoked, []any{map[string]any{"reason": "forbidden"}}, "undeclared"},
		// Extra fields would carry personal data (names, e-mails) to the whole org.
		{"extra field", "user.typing", []any{map[string]any{"viewId": 2, "email": "clara@example.org"}}, "malformed"},
		// A client-chosen "by" would pass the event off as another member's.
		{"forged by", "user.typing", []any{map[string]any{"viewId": 2, "by": "someone-else"}}, "malformed"},
		// An org in the payload would let receivers act on another org.
		{"cross-org field", "user.typing", []any{map[string]any{"viewId": 2, "orgId": 2}}, "malformed"},
		{"missing field", "user.typing", []any{map[string]any{}}, "malformed"},
		{"text value", "user.typing", []any{map[string]any{"viewId": "Clara Zetkin"}}, "malformed"},
		{"path traversal value", "user.typing", []any{map[string]any{"viewId": "../x"}}, "malformed"},
		{"markup value", "user.typing", []any{map[string]any{"viewId": "<img src=x onerror=alert(1)>"}}, "malformed"},
		{"negative value", "user.typing", []any{map[string]any{"viewId": -1}}, "malformed"},
		{"float value", "user.typing", []any{map[string]any{"viewId": 1.5}}, "malformed"},
		{"bool value", "user.typing", []any{map[string]any{"viewId": true}}, "malformed"},
		{"null value", "user.typing", []any{map[string]any{"viewId": nil}}, "malformed"},
		{"nested object", "user.typing", []any{map[string]any{"viewId": map[string]any{"$gt": ""}}}, "malformed"},
		{"nested array", "user.typing", []any{map[string]any{"viewId": []any{2}}}, "malformed"},
		{"nested binary", "user.typing", []any{map[string]any{"viewId": testenv.Bin([]byte("2"))}}, "malformed"},
		// A huge value would be copied to every socket of the org.
		{"huge value", "user.typing", []any{map[string]any{"viewId": strings.Repeat("a", 200_000)}}, "malformed"},
		{"not an object", "user.typing", []any{"2"}, "malformed"},
		{"binary payload", "user.typing", []any{[]byte("2")}, "malformed"},
		{"two payloads", "user.typing", []any{map[string]any{"viewId": 2}, map[string]any{"viewId": 3}}, "malformed"},
		{"no payload", "user.typing", nil, "malformed"},
		// The room is built from the fields: a non-ID would name a room outside the template.
		{"room injection", "view.cell.select", []any{map[string]any{"viewId": "2;x", "rowId": 3, "columnId": 4}}, "malformed"},
	}
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := startGateway(t, members(t), clientTriggers(t), "--client-event-burst", "100")
			n := testenv.StartNode(t)
			connect(t, n, "a", h.url("/org/1"), opts(tr, cookie("alice")))
			connect(t, n, "b", h.url("/org/1"), opts(tr, cookie("bob")))
			connect(t, n, "c", h.url("/org/2"), opts(tr, cookie("carol")))
			// b is in the room the view.cell.select case would target.
			mustAck(t, n, "", "b", gateway.EventSubscribe, "view:2")

			for _, tc := range cases {
				r := emitAck(t, n, "a", tc.event, tc.args...)
				if r.OK || r.Error != tc.want {
					t.Errorf("%s: ack %+v, want error %q", tc.name, r, tc.want)
				}
			}
			// Barrier: a valid event after them is the first thing b and c see.
			mustAck(t, n, "", "a", "user.typing", map[string]any{"viewId": 1})
			assertPayload(t, waitOnly(t, n, "b", "user.typing"), map[string]any{"viewId": int64(1), "by": socketID(t, n, "a")})
			h.mustDo(200, "PUT", "/api/orgs/2/people/views/7/rows/8", nil, "")
			waitOnly(t, n, "c", "personview.addrow")
			if st, err := n.State("a"); err != nil || !st.Connected {
				t.Fatalf("the sender of refused events was dropped: %+v %v", st, err)
			}
		})
	}
}

// socketID returns the socket ID the client sees for socket name.
func socketID(t *testing.T, n *testenv.Node, name string) string {
	t.Helper()
	st, err := n.State(name)
	if err != nil || st.Sid == "" {
		t.Fatalf("state of %s: %+v, %v", name, st, err)
	}
	return st.Sid
}

// A message bigger than --max-payload ends the sender's connection only; the others stay.
func TestClientEventOverMaxPayloadDropsOnlySender(t *testing.T) {
	h := startGateway(t, members(t), clientTriggers(t))
	n := testenv.StartNode(t)
	connect(t, n, "a", h.url("/org/1"), opts("websocket", cookie("alice")))
	connect(t, n, "b", h.url("/org/1"), opts("websocket", cookie("bob")))
	connect(t, n, "b2", h.url("/org/1"), opts("websocket", cookie("bob")))

	if err := n.Emit("a", "user.typing", map[string]any{"viewId": strings.Repeat("9", 1_100_000)}); err != nil {
		t.Fatal(err)
	}
	if ev, err := n.WaitDisconnect("a", 0); err != nil {
		t.Fatal(err)
	} else if ev.Reason == "io client disconnect" {
		t.Fatalf("a: %v", ev)
	}
	mustAck(t, n, "", "b2", "user.typing", map[string]any{"viewId": 3})
	assertPayload(t, waitOnly(t, n, "b", "user.typing"), map[string]any{"viewId": int64(3), "by": socketID(t, n, "b2")})
}

// A raw client admitted to /org/1 that writes an event packet for /org/2 (which it never
// joined, or was refused) must reach no one there: the namespace is the org boundary.
func TestClientEventForUnjoinedOrgIgnored(t *testing.T) {
	h := startGateway(t, members(t), clientTriggers(t))
	n := testenv.StartNode(t)
	connect(t, n, "c", h.url("/org/2"), opts("websocket", cookie("carol")))
	connect(t, n, "b", h.url("/org/1"), opts("websocket", cookie("bob")))

	raw := dialRaw(t, h, "zsid=alice")
	raw.send("40/org/1,")
	sid := raw.connected("/org/1")
	raw.send("40/org/2,") // alice is no member of org 2
	raw.expectPrefix(`44/org/2,{"message":"forbidden"`)
	raw.send(`42/org/2,["user.typing",{"viewId":2}]`)
	raw.send(`42/org/2,["view.cell.select",{"viewId":2,"rowId":3,"columnId":4}]`)
	raw.send(`42/org/2,["subscribe","view:2"]`)
	raw.send(`42/org/1,7["user.typing",{"viewId":5}]`)
	raw.expectPrefix(`43/org/1,7[{"ok":true}]`) // the packets before it were handled

	assertPayload(t, waitOnly(t, n, "b", "user.typing"), map[string]any{"viewId": int64(5), "by": sid})
	h.mustDo(200, "PUT", "/api/orgs/2/people/views/7/rows/8", nil, "")
	waitOnly(t, n, "c", "personview.addrow")
}

// A socket may join only rooms that fill a declared template with IDs; every refusal leaves
// its rooms as they were.
func TestSubscribeOnlyDeclaredRooms(t *testing.T) {
	h := startGateway(t, members(t), clientTriggers(t), "--client-event-burst", "100")
	n := testenv.StartNode(t)
	a := connect(t, n, "a", h.url("/org/1"), opts("websocket", cookie("alice")))

	mustAck(t, n, "", "a", gateway.EventSubscribe, "view:2")
	mustAck(t, n, "", "a", gateway.EventSubscribe, map[string]any{"room": "view:3"})
	hostile := []struct {
		name string
		args []any
	}{
		{"path traversal", []any{"view:../x"}}, // escapes the view: key space
		{"separator", []any{"view:2;x"}},       // smuggles a second name into the ID
		{"undeclared room", []any{"admin"}},    // a room no template allows
		{"other key space", []any{"org:1"}},    // looks like an org-wide room
		{"empty ID", []any{"view:"}},           // the template's prefix only
		{"non-canonical ID", []any{"view:02"}}, // a room no event is ever sent to
		{"case", []any{"VIEW:2"}},              // literals are exact
		{"trailing space", []any{"view:2 "}},   // a look-alike of view:2
		{"unicode digit", []any{"view:２"}},     // renders like view:2
		{"too long", []any{"view:" + strings.Repeat("1", 200)}},
		{"template itself", []any{"view:{viewId}"}},
		{"another socket", []any{a.Sid}}, // a socket's ID is a room of its own
		{"empty", []any{""}},
		{"number", []any{2}},
		{"null", []any{nil}},
		{"array", []any{[]any{"view:2"}}},
		{"object with a hostile room", []any{map[string]any{"room": "view:../x"}}},
		{"object with a number", []any{map[string]any{"room": 2}}},
		{"nothing", nil},
	}
	for _, tc := range hostile {
		for _, ev := range []string{gateway.EventSubscribe, gateway.EventUnsubscribe} {
			if r := emitAck(t, n, "a", ev, tc.args...); r.OK || r.Error != "forbidden" {
				t.Errorf("%s %s: ack %+v, want forbidden", ev, tc.name, r)
			}
		}
	}
	s := h.g.Sockets().Namespace("/org/1").Socket(a.Sid)
	if s == nil {
		t.Fatal("socket a is gone")
	}
	got := s.Rooms()
	slices.Sort(got)
	if !slices.Equal(got, []string{"view:2", "view:3"}) {
		t.Fatalf("socket a is in rooms %q, want exactly view:2 and view:3", got)
	}
	mustAck(t, n, "", "a", gateway.EventUnsubscribe, "view:3")
	if got := s.Rooms(); !slices.Equal(got, []string{"view:2"}) {
		t.Fatalf("after unsubscribe: rooms %q, want view:2", got)
	}
}

// Subscribing narrows what a socket gets: a room event (from a trigger or a client event)
// reaches that room's subscribers only, and stops after unsubscribe.
func TestRoomSubscriptionNarrowsDelivery(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := startGateway(t, members(t), clientTriggers(t))
			n := testenv.StartNode(t)
			connect(t, n, "v2", h.url("/org/1"), opts(tr, cookie("alice")))
			connect(t, n, "v2b", h.url("/org/1"), opts(tr, cookie("bob")))
			connect(t, n, "v3", h.url("/org/1"), opts(tr, cookie("bob")))
			none := connect(t, n, "none", h.url("/org/1"), opts(tr, cookie("erin")))
			mustAck(t, n, "", "v2", gateway.EventSubscribe, "view:2")
			mustAck(t, n, "", "v2b", gateway.EventSubscribe, "view:2")
			mustAck(t, n, "", "v3", gateway.EventSubscribe, "view:3")

			// A client event for view 2 from a socket outside the room: view 2's subscribers only.
			mustAck(t, n, "", "none", "view.cell.select", map[string]any{"viewId": 2, "rowId": 3, "columnId": 4})
			for _, s := range []string{"v2", "v2b"} {
				assertPayload(t, waitOnly(t, n, s, "view.cell.select"),
					map[string]any{"viewId": int64(2), "rowId": int64(3), "columnId": int64(4), "by": none.Sid})
			}
			// A trigger with a room: the same.
			h.mustDo(200, "PATCH", "/api/orgs/1/people/views/2", nil, `{}`)
			for _, s := range []string{"v2", "v2b"} {
				assertIDs(t, waitOnly(t, n, s, "view.updated"), map[string]int64{"viewId": 2})
			}
			// A subscriber sending to its own room: the others in it, not itself.
			mustAck(t, n, "", "v2", "view.cell.select", map[string]any{"viewId": 2, "rowId": 5, "columnId": 6})
			waitOnly(t, n, "v2b", "view.cell.select")

			// Barriers: v3 and none saw nothing of view 2; v2 not its own event.
			h.mustDo(200, "PATCH", "/api/orgs/1/people/views/3", nil, `{}`)
			assertIDs(t, waitOnly(t, n, "v3", "view.updated"), map[string]int64{"viewId": 3})
			h.mustDo(200, "PUT", "/api/orgs/1/people/views/9/rows/9", nil, "")
			for _, s := range []string{"none", "v3", "v2", "v2b"} {
				waitOnly(t, n, s, "personview.addrow")
			}

			// After unsubscribe, view 2's events stop for v2.
			mustAck(t, n, "", "v2", gateway.EventUnsubscribe, "view:2")
			h.mustDo(200, "PATCH", "/api/orgs/1/people/views/2", nil, `{}`)
			waitOnly(t, n, "v2b", "view.updated")
			h.mustDo(200, "PUT", "/api/orgs/1/people/views/9/rows/10", nil, "")
			waitOnly(t, n, "v2", "personview.addrow")
		})
	}
}

// A room is a room of one org's namespace: view:2 of org 1 and view:2 of org 2 are
// different rooms, so subscribing never widens access across orgs, even for a user who
// belongs to both orgs and multiplexes them on one connection.
func TestRoomSubscriptionNeverCrossesOrgs(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := startGateway(t, members(t), clientTriggers(t))
			n := testenv.StartNode(t)
			connect(t, n, "alice", h.url("/org/1"), opts(tr, cookie("alice")))
			connect(t, n, "carol", h.url("/org/2"), opts(tr, cookie("carol")))
			dave := connect(t, n, "dave", h.url("/org/2"), opts(tr, cookie("dave")))
			multi := opts(tr, cookie("erin"))
			multi[testenv.OptManager] = "erin"
			connect(t, n, "erin1", h.url("/org/1"), multi)
			connect(t, n, "erin2", h.url("/org/2"), multi)
			for _, s := range []string{"alice", "carol", "erin1"} {
				mustAck(t, n, "", s, gateway.EventSubscribe, "view:2")
			}

			// Org 2's view:2 events: a trigger and a client event (carol's, so she gets only
			// the trigger's).
			h.mustDo(200, "PATCH", "/api/orgs/2/people/views/2", nil, `{}`)
			mustAck(t, n, "", "carol", "view.cell.select", map[string]any{"viewId": 2, "rowId": 3, "columnId": 4})
			assertIDs(t, waitOnly(t, n, "carol", "view.updated"), map[string]int64{"viewId": 2})

			// Org 1's view:2 subscribers got neither: their first event is org 1's.
			h.mustDo(200, "PATCH", "/api/orgs/1/people/views/2", nil, `{}`)
			for _, s := range []string{"alice", "erin1"} {
				assertIDs(t, waitOnly(t, n, s, "view.updated"), map[string]int64{"viewId": 2})
			}
			// Org 2's sockets outside the room (erin2, dave) got no room event either, and
			// carol not her own client event.
			h.mustDo(200, "PUT", "/api/orgs/2/people/views/7/rows/8", nil, "")
			for _, s := range []string{"erin2", "dave", "carol"} {
				waitOnly(t, n, s, "personview.addrow")
			}
			// A client event of org 2 without a room reaches org 2 only.
			mustAck(t, n, "", "dave", "user.typing", map[string]any{"viewId": 2})
			for _, s := range []string{"carol", "erin2"} {
				assertPayload(t, waitOnly(t, n, s, "user.typing"), map[string]any{"viewId": int64(2), "by": dave.Sid})
			}
			h.mustDo(200, "PUT", "/api/orgs/1/people/views/7/rows/9", nil, "")
			for _, s := range []string{"alice", "erin1"} {
				waitOnly(t, n, s, "personview.addrow")
			}
		})
	}
}

// A socket that floods gets one rate_limited event, its excess is dropped, and after twice
// the burst dropped it is disconnected; the others keep working.
func TestClientEventFloodRateLimitedThenDisconnected(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			// A rate so low that no token comes back during the test: exactly the burst passes.
			h := startGateway(t, members(t), clientTriggers(t), "--client-event-rate", "0.001", "--client-event-burst", "5")
			n := testenv.StartNode(t)
			flood := connect(t, n, "flood", h.url("/org/1"), opts(tr, cookie("alice")))
			connect(t, n, "b", h.url("/org/1"), opts(tr, cookie("bob")))
			c := connect(t, n, "c", h.url("/org/1"), opts(tr, cookie("erin")))

			for i := range 20 {
				if err := n.Emit("flood", "user.typing", map[string]any{"viewId": i}); err != nil {
					t.Fatal(err)
				}
			}
			rl, err := n.WaitEvent("flood", gateway.EventRateLimited, 0)
			if err != nil {
				t.Fatal(err)
			}
			var info struct {
				Limit float64 `json:"limit"`
				Burst int     `json:"burst"`
			}
			if err := rl.Arg(0, &info); err != nil || info.Limit != 0.001 || info.Burst != 5 || len(rl.Skipped) != 0 {
				t.Fatalf("flood: %v (skipped %v), want rate_limited {limit: 0.001, burst: 5} first", rl, rl.Skipped)
			}
			dis, err := n.WaitDisconnect("flood", 0)
			if err != nil {
				t.Fatal(err)
			}
			if dis.Reason != "io server disconnect" || dis.Seq < rl.Seq {
				t.Fatalf("flood: %v after %v, want io server disconnect after rate_limited", dis, rl)
			}
			if evs := n.Events("flood"); len(evs) != 2 {
				t.Fatalf("flood got %v, want only rate_limited and the disconnect", evs)
			}

			// b got exactly the burst, in order, then c's event: the rest was dropped.
			mustAck(t, n, "", "c", "user.typing", map[string]any{"viewId": 99})
			for i := range 5 {
				assertPayload(t, waitOnly(t, n, "b", "user.typing"), map[string]any{"viewId": int64(i), "by": flood.Sid})
			}
			assertPayload(t, waitOnly(t, n, "b", "user.typing"), map[string]any{"viewId": int64(99), "by": c.Sid})
			for i := range 5 {
				assertPayload(t, waitOnly(t, n, "c", "user.typing"), map[string]any{"viewId": int64(i), "by": flood.Sid})
			}
			// Everyone else keeps working: API events too.
			h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/3", nil, "")
			for _, s := range []string{"b", "c"} {
				waitOnly(t, n, s, "personview.addrow")
			}
			if ns := h.g.Sockets().Namespace("/org/1"); ns.Socket(flood.Sid) != nil || ns.Len() != 2 {
				t.Fatalf("flooder still in /org/1 (%d sockets)", ns.Len())
			}
		})
	}
}

// With the defaults (20/s, burst 40), a flood is cut after the burst plus what the rate
// refilled, and the flooder is disconnected.
func TestClientEventFloodDefaults(t *testing.T) {
	h := startGateway(t, members(t), clientTriggers(t))
	n := testenv.StartNode(t)
	flood := connect(t, n, "flood", h.url("/org/1"), opts("websocket", cookie("alice")))
	connect(t, n, "b", h.url("/org/1"), opts("websocket", cookie("bob")))

	start := time.Now()
	const sent = 300
	for i := range sent {
		if err := n.Emit("flood", "user.typing", map[string]any{"viewId": i}); err != nil {
			t.Fatal(err)
		}
	}
	rl, err := n.WaitEvent("flood", gateway.EventRateLimited, 0)
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Limit float64 `json:"limit"`
		Burst int     `json:"burst"`
	}
	if err := rl.Arg(0, &info); err != nil || info.Limit != 20 || info.Burst != 40 {
		t.Fatalf("rate_limited %v, want {limit: 20, burst: 40}", rl)
	}
	if dis, err := n.WaitDisconnect("flood", 0); err != nil || dis.Reason != "io server disconnect" {
		t.Fatalf("flood: %v, %v; want io server disconnect", dis, err)
	}
	elapsed := time.Since(start)

	h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/3", nil, "")
	ev, err := n.WaitEvent("b", "personview.addrow", 0)
	if err != nil {
		t.Fatal(err)
	}
	relayed := len(ev.Skipped)
	if max := 40 + int(20*elapsed.Seconds()) + 1; relayed < 40 || relayed > max || relayed >= sent-80 {
		t.Fatalf("b got %d relays of %d sent in %v, want 40..%d", relayed, sent, elapsed, max)
	}
	last := int64(-1)
	for _, s := range ev.Skipped {
		var p struct {
			ViewID int64  `json:"viewId"`
			By     string `json:"by"`
		}
		if err := s.Arg(0, &p); err != nil || s.Event != "user.typing" || p.By != flood.Sid || p.ViewID <= last {
			t.Fatalf("relay %v out of order or not the flooder's", s)
		}
		last = p.ViewID
	}
}

// rawConn is a hand-written Socket.IO client over a websocket, for packets the official
// client never sends.
type rawConn struct {
	t  *testing.T
	ws *websocket.Conn
}

// dialRaw opens an Engine.IO websocket with the given Cookie header and reads the open packet.
func dialRaw(t *testing.T, h *harness, cookieHeader string) *rawConn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(h.base, "http") + "/socket.io/?EIO=4&transport=websocket"
	ws, _, err := websocket.DefaultDialer.Dial(u, http.Header{"Cookie": {cookieHeader}})
	if err != nil {
		t.Fatalf("raw websocket: %v", err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	r := &rawConn{t: t, ws: ws}
	r.expectPrefix("0{")
	return r
}

func (r *rawConn) send(msg string) {
	r.t.Helper()
	if err := r.ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		r.t.Fatalf("raw send %q: %v", msg, err)
	}
}

// expectPrefix reads the next message (answering pings) and checks its beginning.
func (r *rawConn) expectPrefix(prefix string) string {
	r.t.Helper()
	for range 100 {
		_ = r.ws.SetReadDeadline(time.Now().Add(testenv.DefaultTimeout))
		_, b, err := r.ws.ReadMessage()
		if err != nil {
			r.t.Fatalf("raw read, waiting for %q: %v", prefix, err)
		}
		if string(b) == "2" {
			r.send("3")
			continue
		}
		if !strings.HasPrefix(string(b), prefix) {
			r.t.Fatalf("raw read %q, want a message starting with %q", b, prefix)
		}
		return string(b)
	}
	r.t.Fatalf("raw read: only pings, waiting for %q", prefix)
	return ""
}

// connected reads the CONNECT answer of namespace nsp and returns the socket ID.
func (r *rawConn) connected(nsp string) string {
	r.t.Helper()
	msg := r.expectPrefix("40" + nsp + ",")
	var res struct {
		Sid string `json:"sid"`
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(msg, "40"+nsp+",")), &res); err != nil || res.Sid == "" {
		r.t.Fatalf("raw connect answer %q: %v", msg, err)
	}
	return res.Sid
}
