package triggers

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// clientFile declares rooms and client events next to a trigger.
const clientFile = `triggers:
  - event: view.updated
    method: PATCH
    path: /orgs/{orgId}/people/views/{viewId}
    room: view:{viewId}
rooms:
  - view:{viewId}
  - call:{callId}:lane:{laneId}
  - lobby
client_events:
  - event: view.cell.select
    fields: {viewId: id, rowId: id, columnId: id}
    room: view:{viewId}
  - event: user.typing
    fields:
      viewId: id
`

func TestParseClientEventsAndRooms(t *testing.T) {
	set := mustParse(t, clientFile)
	if set.Len() != 1 || !set.HasClientEvents() {
		t.Fatalf("Len %d HasClientEvents %v, want 1 trigger and client events", set.Len(), set.HasClientEvents())
	}
	ce := set.ClientEvent("view.cell.select")
	if ce == nil || ce.Name != "view.cell.select" || !reflect.DeepEqual(ce.Fields, []string{"viewId", "rowId", "columnId"}) {
		t.Fatalf("ClientEvent(view.cell.select) = %+v", ce)
	}
	if set.ClientEvent("view.updated") != nil {
		t.Fatal("a trigger event is not a client event: a socket must not be able to forge it")
	}
	if set.ClientEvent("nope") != nil {
		t.Fatal("undeclared client event found")
	}
	for _, ev := range []string{"view.updated", "view.cell.select", "user.typing"} {
		if !set.Knows(ev) {
			t.Errorf("Knows(%q) = false", ev)
		}
	}
	if set.Knows("view.deleted") || set.Knows("") {
		t.Error("Knows an undeclared event")
	}
	var nilSet *Set
	if nilSet.ClientEvent("user.typing") != nil || nilSet.HasClientEvents() || nilSet.Knows("x") || nilSet.RoomAllowed("lobby") {
		t.Fatal("a nil set must allow nothing")
	}
	// A file without the new keys declares nothing.
	plain := mustParse(t, "triggers: []\nrooms:\nclient_events:\n")
	if plain.HasClientEvents() || plain.RoomAllowed("view:2") {
		t.Fatal("empty rooms/client_events must declare nothing")
	}
}

// TestParseClientEventProblems checks every problem of the rooms: and client_events: keys is
// reported, all of them, as exactly "FILE:LINE: message".
func TestParseClientEventProblems(t *testing.T) {
	const head = "triggers: []\n"
	tests := []struct {
		name string
		src  string
		want []string // "LINE: exact message"
	}{
		{"unknown client event key", head + `client_events:
  - event: a.b
    fields: {x: id}
    broadcast: all
`, []string{`5: unknown key "broadcast" (want one of event, fields, room)`}},
		{"bad field type", head + `client_events:
  - event: a.b
    fields:
      x: id
      text: string
`, []string{`6: field text: type "string" is not supported (want id)`}},
		{"field type is a mapping", head + `client_events:
  - event: a.b
    fields:
      x: {type: id}
`, []string{`5: field x must be a single value, not a list or mapping`}},
		{"room uses an unknown field", head + `client_events:
  - event: a.b
    fields: {viewId: id}
    room: view:{rowId}
`, []string{`5: room "view:{rowId}" uses {rowId}, which is not one of the fields`}},
		{"duplicate event", head + `client_events:
  - event: a.b
    fields: {x: id}
  - event: c
    fields: {x: id}
  - event: a.b
    fields: {y: id}
`, []string{`7: duplicate client event "a.b" (first at line 3)`}},
		// The gateway adds by: <socket id> itself; a client-chosen "by" would let a member
		// pass a change off as another member's.
		{"by is reserved", head + `client_events:
  - event: a.b
    fields: {viewId: id, by: id}
`, []string{`4: bad field name "by" (want [A-Za-z_][A-Za-z0-9_]{0,63}; "by" and "orgId" are reserved)`}},
		// The org is the namespace the socket was admitted to; a client-chosen orgId would
		// let receivers believe a change happened in another org.
		{"orgId is reserved", head + `client_events:
  - event: a.b
    fields: {orgId: id}
`, []string{`4: bad field name "orgId" (want [A-Za-z_][A-Za-z0-9_]{0,63}; "by" and "orgId" are reserved)`}},
		{"bad field name", head + `client_events:
  - event: a.b
    fields: {"row-id": id}
`, []string{`4: bad field name "row-id" (want [A-Za-z_][A-Za-z0-9_]{0,63}; "by" and "orgId" are reserved)`}},
		{"fields not a mapping", head + `client_events:
  - event: a.b
    fields: [x]
`, []string{`4: fields must be a non-empty mapping of name: id`}},
		{"fields empty", head + `client_events:
  - event: a.b
    fields: {}
`, []string{`4: fields must be a non-empty mapping of name: id`}},
		{"too many fields", head + "client_events:\n  - event: a.b\n    fields: {" + manyFields(17) + "}\n",
			[]string{`4: at most 16 fields`}},
		{"missing event", head + `client_events:
  - fields: {x: id}
`, []string{`3: client event is missing event`}},
		{"missing fields", head + `client_events:
  - event: a.b
`, []string{`3: client event is missing fields`}},
		{"bad event name", head + `client_events:
  - event: "View Select"
    fields: {x: id}
`, []string{`3: bad event name "View Select" (want [a-z0-9_.:-], at most 128 characters)`}},
		// Names the gateway or Socket.IO use themselves: "subscribe" would never be relayed,
		// and a member relaying "resync" or "revoked" to everyone else would make every app in
		// the org re-fetch everything or believe it was logged out.
		{"reserved event name", head + `client_events:
  - event: resync
    fields: {x: id}
  - event: subscribe
    fields: {x: id}
  - event: disconnect
    fields: {x: id}
`, []string{
			`3: event "resync" is reserved (used by the gateway or Socket.IO)`,
			`5: event "subscribe" is reserved (used by the gateway or Socket.IO)`,
			`7: event "disconnect" is reserved (used by the gateway or Socket.IO)`,
		}},
		{"client events not a list", head + "client_events: {event: a}\n", []string{`2: client_events must be a list`}},
		{"client event not a mapping", head + "client_events:\n  - a.b\n", []string{`3: each client event must be a mapping with event and fields`}},
		{"rooms not a list", head + "rooms: view:{viewId}\n", []string{`2: rooms must be a list of room templates such as view:{viewId}`}},
		{"room with orgId", head + "rooms:\n  - org:{orgId}\n", []string{`3: room "org:{orgId}": {orgId} is implied (rooms live inside an org namespace)`}},
		{"duplicate room", head + "rooms:\n  - view:{viewId}\n  - lobby\n  - view:{viewId}\n", []string{`5: duplicate room "view:{viewId}" (first at line 3)`}},
		{"room with bad characters", head + "rooms:\n  - \"view/{viewId}\"\n", []string{`3: room "view/{viewId}": text "view/" has characters outside [A-Za-z0-9_.:-] or an unmatched }`}},
		{"room is a mapping", head + "rooms:\n  - {view: x}\n", []string{`3: room must be a single value, not a list or mapping`}},
		{"too many rooms", head + "rooms:\n" + manyRooms(65), []string{`3: at most 64 rooms`}},
		{"all problems reported", head + `rooms:
  - "bad room"
client_events:
  - event: a.b
    fields: {x: number}
    extra: 1
`, []string{
			`3: room "bad room": text "bad room" has characters outside [A-Za-z0-9_.:-] or an unmatched }`,
			`6: field x: type "number" is not supported (want id)`,
			`7: unknown key "extra" (want one of event, fields, room)`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, err := Parse("conf/c.yaml", []byte(tc.src))
			if err == nil {
				t.Fatalf("Parse succeeded (%d triggers), want %q", set.Len(), tc.want)
			}
			if set != nil || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse = %v, %v; want no set and ErrInvalid", set, err)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err is %T, want *Error", err)
			}
			got := make([]string, len(e.Problems))
			for i, p := range e.Problems {
				got[i] = p.Error()
			}
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = "conf/c.yaml:" + w
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}

func manyFields(n int) string {
	f := make([]string, n)
	for i := range f {
		f[i] = fmt.Sprintf("f%d: id", i)
	}
	return strings.Join(f, ", ")
}

func manyRooms(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "  - r%d:{x}\n", i)
	}
	return b.String()
}

// numJSON decodes like the gateway's Socket.IO parser: numbers as json.Number.
func numJSON(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

func TestClientEventValidate(t *testing.T) {
	set := mustParse(t, clientFile)
	sel := set.ClientEvent("view.cell.select")
	typing := set.ClientEvent("user.typing")

	// Accepted: exactly the fields, IDs only; all-digit IDs become numbers (leading zeros
	// dropped, as in paths), others stay strings.
	good := []struct {
		ce      *ClientEvent
		payload string
		want    map[string]any
		room    string
	}{
		{sel, `{"viewId":2,"rowId":3,"columnId":4}`, map[string]any{"viewId": int64(2), "rowId": int64(3), "columnId": int64(4)}, "view:2"},
		{sel, `{"columnId":"c-1","rowId":"007","viewId":"2"}`, map[string]any{"viewId": int64(2), "rowId": int64(7), "columnId": "c-1"}, "view:2"},
		{typing, `{"viewId":0}`, map[string]any{"viewId": int64(0)}, ""},
		{typing, `{"viewId":9007199254740992}`, map[string]any{"viewId": int64(1 << 53)}, ""},
		{typing, `{"viewId":"` + strings.Repeat("a", 64) + `"}`, map[string]any{"viewId": strings.Repeat("a", 64)}, ""},
	}
	for _, tc := range good {
		data, room, err := tc.ce.Validate(numJSON(t, tc.payload))
		if err != nil || room != tc.room || !reflect.DeepEqual(data, tc.want) {
			t.Errorf("%s %s = %#v, %q, %v; want %#v, %q", tc.ce.Name, tc.payload, data, room, err, tc.want, tc.room)
		}
	}
	// float64 (a payload decoded without UseNumber) obeys the same rules.
	if data, _, err := typing.Validate(map[string]any{"viewId": float64(12)}); err != nil || data["viewId"] != int64(12) {
		t.Errorf("float64 12: %v, %v", data, err)
	}

	bad := []struct {
		name    string
		payload string
	}{
		{"missing field", `{"viewId":2,"rowId":3}`},
		{"extra field", `{"viewId":2,"rowId":3,"columnId":4,"email":"clara@example.org"}`},
		{"forged by", `{"viewId":2,"rowId":3,"columnId":4,"by":"someone-else"}`},
		{"other org", `{"viewId":2,"rowId":3,"columnId":4,"orgId":2}`},
		{"swapped field", `{"viewId":2,"rowId":3,"column":4}`},
		{"not an object", `[2,3,4]`},
		{"string payload", `"view:2"`},
		{"null payload", `null`},
		{"negative", `{"viewId":-1,"rowId":3,"columnId":4}`},
		{"float", `{"viewId":2.5,"rowId":3,"columnId":4}`},
		{"float integral", `{"viewId":2.0,"rowId":3,"columnId":4}`},
		{"exponent", `{"viewId":2e3,"rowId":3,"columnId":4}`},
		// Beyond 2^53 a JavaScript receiver would read another ID than the one sent.
		{"beyond 2^53", `{"viewId":9007199254740993,"rowId":3,"columnId":4}`},
		{"beyond int64", `{"viewId":99999999999999999999,"rowId":3,"columnId":4}`},
		{"huge number", `{"viewId":` + strings.Repeat("9", 400) + `,"rowId":3,"columnId":4}`},
		{"bool", `{"viewId":true,"rowId":3,"columnId":4}`},
		{"null value", `{"viewId":null,"rowId":3,"columnId":4}`},
		{"nested object", `{"viewId":{"$gt":""},"rowId":3,"columnId":4}`},
		{"nested array", `{"viewId":[2],"rowId":3,"columnId":4}`},
		{"empty string", `{"viewId":"","rowId":3,"columnId":4}`},
		{"text with spaces", `{"viewId":"Clara Zetkin","rowId":3,"columnId":4}`},
		{"path traversal", `{"viewId":"../x","rowId":3,"columnId":4}`},
		{"room injection", `{"viewId":"2;x","rowId":3,"columnId":4}`},
		{"markup", `{"viewId":"<script>","rowId":3,"columnId":4}`},
		{"unicode digit", `{"viewId":"２","rowId":3,"columnId":4}`},
		{"id too long", `{"viewId":"` + strings.Repeat("a", 65) + `","rowId":3,"columnId":4}`},
		{"huge string", `{"viewId":"` + strings.Repeat("a", 1<<20) + `","rowId":3,"columnId":4}`},
	}
	for _, tc := range bad {
		data, room, err := sel.Validate(numJSON(t, tc.payload))
		if !errors.Is(err, ErrBadPayload) || data != nil || room != "" {
			t.Errorf("%s: Validate = %v, %q, %v; want ErrBadPayload", tc.name, data, room, err)
		}
	}
	for _, v := range []any{float64(-1), 1.5, float64(1<<53 + 2), []byte("2"), int(2)} {
		if _, _, err := typing.Validate(map[string]any{"viewId": v}); !errors.Is(err, ErrBadPayload) {
			t.Errorf("%T %v: %v, want ErrBadPayload", v, v, err)
		}
	}
}

func TestValidateIDs(t *testing.T) {
	data, err := ValidateIDs(numJSON(t, `{"viewId":2,"personId":"0042","tag":"t_1"}`))
	want := map[string]any{"viewId": int64(2), "personId": int64(42), "tag": "t_1"}
	if err != nil || !reflect.DeepEqual(data, want) {
		t.Fatalf("ValidateIDs = %#v, %v; want %#v", data, err, want)
	}
	if data, err := ValidateIDs(map[string]any{}); err != nil || len(data) != 0 {
		t.Fatalf("empty object: %v, %v", data, err)
	}
	bad := []string{
		`[1]`, `"x"`, `null`, `3`,
		`{"name":"Clara Zetkin"}`,
		`{"email":"clara@example.org"}`,
		`{"x":-1}`, `{"x":1.5}`, `{"x":true}`, `{"x":{"y":1}}`, `{"x":[1]}`, `{"x":null}`,
		`{"bad-key":1}`, `{"1st":1}`, `{"":1}`,
		`{"k":1,` + manyKeys(16) + `}`, // 17 keys
	}
	for _, s := range bad {
		if _, err := ValidateIDs(numJSON(t, s)); !errors.Is(err, ErrBadPayload) {
			t.Errorf("ValidateIDs(%.80s) = %v, want ErrBadPayload", s, err)
		}
	}
	if _, err := ValidateIDs(numJSON(t, `{`+manyKeys(16)+`}`)); err != nil {
		t.Errorf("16 keys refused: %v", err)
	}
}

func manyKeys(n int) string {
	k := make([]string, n)
	for i := range k {
		k[i] = fmt.Sprintf(`"k%d":%d`, i, i)
	}
	return strings.Join(k, ",")
}

func TestEventName(t *testing.T) {
	for _, name := range []string{"a", "personview.addrow", "a:b-c_d.0"} {
		if !ValidEventName(name) {
			t.Errorf("ValidEventName(%q) = false", name)
		}
	}
	for _, name := range []string{"", "A", "a b", "a/b", "é", strings.Repeat("a", 129)} {
		if ValidEventName(name) {
			t.Errorf("ValidEventName(%q) = true", name)
		}
	}
}

func TestRoomAllowed(t *testing.T) {
	set := mustParse(t, clientFile)
	allowed := []string{
		"view:2", "view:0", "view:abc", "view:a-b_c", "view:" + strings.Repeat("9", 64),
		"call:1:lane:2", "call:x:lane:y", "lobby",
	}
	for _, r := range allowed {
		if !set.RoomAllowed(r) {
			t.Errorf("RoomAllowed(%q) = false, want true", r)
		}
	}
	// Each of these must be refused; the comment says what it would otherwise allow.
	refused := []string{
		"",                                   // nothing
		"view:",                              // an empty ID
		"view",                               // a literal prefix only
		"view:../x",                          // path traversal into another key space
		"view:2;x",                           // a separator smuggled into the ID
		"view:2/x",                           // a path in the ID
		"view:2 ",                            // trailing space: a second room that looks the same
		" view:2",                            // leading space
		"view:2\n",                           // line break (log injection)
		"view:2\x00",                         // NUL
		"view:２",                             // a Unicode digit that renders like 2
		"VIEW:2",                             // literals are case-sensitive
		"view:02",                            // a non-canonical ID: no event is ever sent to it
		"view:2:x",                           // ':' is not an ID character
		"view:" + strings.Repeat("9", 65),    // an ID longer than any ID
		"view:" + strings.Repeat("a", 1<<16), // huge input
		"view:2view:3",                       // two rooms glued together
		"lobby2",                             // a literal room with a suffix
		"lobb",                               // a prefix of a literal room
		"call:1:lane:",                       // the last ID missing
		"call::lane:2",                       // the first ID missing
		"call:1:lane:2:lane:3",               // a template repeated
		"org:1",                              // not declared
		"view:{viewId}",                      // the template itself
		"personview.addrow",                  // an event name
	}
	for _, r := range refused {
		if set.RoomAllowed(r) {
			t.Errorf("RoomAllowed(%q) = true, want false", r)
		}
	}
	if mustParse(t, "triggers: []\n").RoomAllowed("view:2") {
		t.Error("a file without rooms allows a room")
	}
}

// A template with many placeholders separated by ID characters gave the matcher an
// exponential number of ways to split a hostile room (a subscribe of "1-1-1-…-1!" kept a CPU
// busy indefinitely): matching must stay polynomial.
func TestRoomAllowedHostileBacktracking(t *testing.T) {
	set := mustParse(t, "triggers: []\nrooms:\n  - \"x:{a}-{b}-{c}-{d}-{e}-{f}-{g}-{h}-{i}-{j}-{k}-{l}\"\n  - \"y:{m}{n}{o}{p}{q}{r}{s}{u}\"\n")
	hostile := []string{
		"x:" + strings.Repeat("1-", 62) + "!",
		"y:" + strings.Repeat("a", 125) + "!",
	}
	done := make(chan []bool, 1)
	go func() {
		var res []bool
		for _, r := range hostile {
			res = append(res, set.RoomAllowed(r))
		}
		done <- res
	}()
	select {
	case res := <-done:
		for i, ok := range res {
			if ok {
				t.Errorf("RoomAllowed(%q) = true", hostile[i])
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RoomAllowed did not return within 10s on a hostile room: exponential backtracking")
	}
	if !set.RoomAllowed("x:1-2-3-4-5-6-7-8-9-10-11-12") || !set.RoomAllowed("y:abcdefgh") {
		t.Fatal("legitimate rooms of the many-placeholder templates refused")
	}
}

// roomShape is what any room accepted by clientFile's templates looks like.
var roomShape = regexp.MustCompile(`^(view:[A-Za-z0-9_-]{1,64}|call:[A-Za-z0-9_-]{1,64}:lane:[A-Za-z0-9_-]{1,64}|lobby)$`)

func FuzzRoomAllowed(f *testing.F) {
	set := mustParse(f, clientFile)
	for _, s := range []string{"view:2", "view:../x", "view:2;x", "call:1:lane:2", "lobby", "view:02", "view:", "view:２", "call:a-:lane:-b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, room string) {
		if !set.RoomAllowed(room) {
			return
		}
		if !roomShape.MatchString(room) || len(room) > maxRoomLen {
			t.Fatalf("RoomAllowed(%q) = true for a room outside the templates", room)
		}
		for _, part := range regexp.MustCompile(`[A-Za-z0-9_-]+`).FindAllString(strings.TrimPrefix(strings.TrimPrefix(room, "view:"), "call:"), -1) {
			if allDigits(part) && len(part) > 1 && part[0] == '0' {
				t.Fatalf("RoomAllowed(%q) = true with a non-canonical ID %q", room, part)
			}
		}
	})
}
