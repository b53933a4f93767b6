package conformance

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// suiteCase names one case of an official suite: the suite, then its describe/it titles.
type suiteCase struct {
	Suite string // "engine.io-protocol" or "socket.io-protocol"
	Case  string // describe titles and the it title, joined by " > "
}

// suiteCases maps every case of both official suites to the Go test that replays it. The
// socket.io-protocol suite repeats the Engine.IO cases (without "message") at /socket.io/.
var suiteCases = map[suiteCase]string{
	{"engine.io-protocol", "handshake > HTTP long-polling > successfully opens a session"}:                                        "TestEngineIO_Polling_Handshake",
	{"engine.io-protocol", "handshake > HTTP long-polling > fails with an invalid 'EIO' query parameter"}:                         "TestEngineIO_Polling_HandshakeInvalidEIO",
	{"engine.io-protocol", "handshake > HTTP long-polling > fails with an invalid 'transport' query parameter"}:                   "TestEngineIO_Polling_HandshakeInvalidTransport",
	{"engine.io-protocol", "handshake > HTTP long-polling > fails with an invalid request method"}:                                "TestEngineIO_Polling_HandshakeInvalidMethod",
	{"engine.io-protocol", "handshake > WebSocket > successfully opens a session"}:                                                "TestEngineIO_WebSocket_Handshake",
	{"engine.io-protocol", "handshake > WebSocket > fails with an invalid 'EIO' query parameter"}:                                 "TestEngineIO_WebSocket_HandshakeInvalidEIO",
	{"engine.io-protocol", "handshake > WebSocket > fails with an invalid 'transport' query parameter"}:                           "TestEngineIO_WebSocket_HandshakeInvalidTransport",
	{"engine.io-protocol", "message > HTTP long-polling > sends and receives a payload containing one plain text packet"}:         "TestEngineIO_Polling_MessageOneText",
	{"engine.io-protocol", "message > HTTP long-polling > sends and receives a payload containing several plain text packets"}:    "TestEngineIO_Polling_MessageSeveralText",
	{"engine.io-protocol", "message > HTTP long-polling > sends and receives a payload containing plain text and binary packets"}: "TestEngineIO_Polling_MessageTextAndBinary",
	{"engine.io-protocol", "message > HTTP long-polling > closes the session upon invalid packet format"}:                         "TestEngineIO_Polling_InvalidPacketClosesSession",
	{"engine.io-protocol", "message > HTTP long-polling > closes the session upon duplicate poll requests"}:                       "TestEngineIO_Polling_DuplicatePollClosesSession",
	{"engine.io-protocol", "message > WebSocket > sends and receives a plain text packet"}:                                        "TestEngineIO_WebSocket_MessageText",
	{"engine.io-protocol", "message > WebSocket > sends and receives a binary packet"}:                                            "TestEngineIO_WebSocket_MessageBinary",
	{"engine.io-protocol", "message > WebSocket > closes the session upon invalid packet format"}:                                 "TestEngineIO_WebSocket_InvalidPacketClosesSession",
	{"engine.io-protocol", "heartbeat > HTTP long-polling > sends ping/pong packets"}:                                             "TestEngineIO_Polling_PingPong",
	{"engine.io-protocol", "heartbeat > HTTP long-polling > closes the session upon ping timeout"}:                                "TestEngineIO_Polling_PingTimeout",
	{"engine.io-protocol", "heartbeat > WebSocket > sends ping/pong packets"}:                                                     "TestEngineIO_WebSocket_PingPong",
	{"engine.io-protocol", "heartbeat > WebSocket > closes the session upon ping timeout"}:                                        "TestEngineIO_WebSocket_PingTimeout",
	{"engine.io-protocol", "close > HTTP long-polling > forcefully closes the session"}:                                           "TestEngineIO_Polling_ForcefulClose",
	{"engine.io-protocol", "close > WebSocket > forcefully closes the session"}:                                                   "TestEngineIO_WebSocket_ForcefulClose",
	{"engine.io-protocol", "upgrade > successfully upgrades from HTTP long-polling to WebSocket"}:                                 "TestEngineIO_Upgrade_PollingToWebSocket",
	{"engine.io-protocol", "upgrade > ignores HTTP requests with same sid after upgrade"}:                                         "TestEngineIO_Upgrade_IgnoresPollingAfterUpgrade",
	{"engine.io-protocol", "upgrade > ignores WebSocket connection with same sid after upgrade"}:                                  "TestEngineIO_Upgrade_IgnoresSecondWebSocketAfterUpgrade",

	{"socket.io-protocol", "Engine.IO protocol > handshake > HTTP long-polling > should successfully open a session"}:                      "TestSocketIO_EngineIO_Polling_Handshake",
	{"socket.io-protocol", "Engine.IO protocol > handshake > HTTP long-polling > should fail with an invalid 'EIO' query parameter"}:       "TestSocketIO_EngineIO_Polling_HandshakeInvalidEIO",
	{"socket.io-protocol", "Engine.IO protocol > handshake > HTTP long-polling > should fail with an invalid 'transport' query parameter"}: "TestSocketIO_EngineIO_Polling_HandshakeInvalidTransport",
	{"socket.io-protocol", "Engine.IO protocol > handshake > HTTP long-polling > should fail with an invalid request method"}:              "TestSocketIO_EngineIO_Polling_HandshakeInvalidMethod",
	{"socket.io-protocol", "Engine.IO protocol > handshake > WebSocket > should successfully open a session"}:                              "TestSocketIO_EngineIO_WebSocket_Handshake",
	{"socket.io-protocol", "Engine.IO protocol > handshake > WebSocket > should fail with an invalid 'EIO' query parameter"}:               "TestSocketIO_EngineIO_WebSocket_HandshakeInvalidEIO",
	{"socket.io-protocol", "Engine.IO protocol > handshake > WebSocket > should fail with an invalid 'transport' query parameter"}:         "TestSocketIO_EngineIO_WebSocket_HandshakeInvalidTransport",
	{"socket.io-protocol", "Engine.IO protocol > heartbeat > HTTP long-polling > should send ping/pong packets"}:                           "TestSocketIO_EngineIO_Polling_PingPong",
	{"socket.io-protocol", "Engine.IO protocol > heartbeat > HTTP long-polling > should close the session upon ping timeout"}:              "TestSocketIO_EngineIO_Polling_PingTimeout",
	{"socket.io-protocol", "Engine.IO protocol > heartbeat > WebSocket > should send ping/pong packets"}:                                   "TestSocketIO_EngineIO_WebSocket_PingPong",
	{"socket.io-protocol", "Engine.IO protocol > heartbeat > WebSocket > should close the session upon ping timeout"}:                      "TestSocketIO_EngineIO_WebSocket_PingTimeout",
	{"socket.io-protocol", "Engine.IO protocol > close > HTTP long-polling > should forcefully close the session"}:                         "TestSocketIO_EngineIO_Polling_ForcefulClose",
	{"socket.io-protocol", "Engine.IO protocol > close > WebSocket > should forcefully close the session"}:                                 "TestSocketIO_EngineIO_WebSocket_ForcefulClose",
	{"socket.io-protocol", "Engine.IO protocol > upgrade > should successfully upgrade from HTTP long-polling to WebSocket"}:               "TestSocketIO_EngineIO_Upgrade_PollingToWebSocket",
	{"socket.io-protocol", "Engine.IO protocol > upgrade > should ignore HTTP requests with same sid after upgrade"}:                       "TestSocketIO_EngineIO_Upgrade_IgnoresPollingAfterUpgrade",
	{"socket.io-protocol", "Engine.IO protocol > upgrade > should ignore WebSocket connection with same sid after upgrade"}:                "TestSocketIO_EngineIO_Upgrade_IgnoresSecondWebSocketAfterUpgrade",

	{"socket.io-protocol", "Socket.IO protocol > connect > should allow connection to the main namespace"}:                            "TestSocketIO_Connect_MainNamespace",
	{"socket.io-protocol", "Socket.IO protocol > connect > should allow connection to the main namespace with a payload"}:             "TestSocketIO_Connect_MainNamespaceWithPayload",
	{"socket.io-protocol", "Socket.IO protocol > connect > should allow connection to a custom namespace"}:                            "TestSocketIO_Connect_CustomNamespace",
	{"socket.io-protocol", "Socket.IO protocol > connect > should allow connection to a custom namespace with a payload"}:             "TestSocketIO_Connect_CustomNamespaceWithPayload",
	{"socket.io-protocol", "Socket.IO protocol > connect > should disallow connection to an unknown namespace"}:                       "TestSocketIO_Connect_UnknownNamespaceRefused",
	{"socket.io-protocol", "Socket.IO protocol > connect > should disallow connection with an invalid handshake"}:                     "TestSocketIO_Connect_InvalidHandshakeCloses",
	{"socket.io-protocol", "Socket.IO protocol > connect > should close the connection if no handshake is received"}:                  "TestSocketIO_Connect_NoHandshakeTimesOut",
	{"socket.io-protocol", "Socket.IO protocol > disconnect > should disconnect from the main namespace"}:                             "TestSocketIO_Disconnect_MainNamespace",
	{"socket.io-protocol", "Socket.IO protocol > disconnect > should connect then disconnect from a custom namespace"}:                "TestSocketIO_Disconnect_CustomNamespaceThenMain",
	{"socket.io-protocol", "Socket.IO protocol > message > should send a plain-text packet"}:                                          "TestSocketIO_Message_PlainText",
	{"socket.io-protocol", "Socket.IO protocol > message > should send a packet with binary attachments"}:                             "TestSocketIO_Message_BinaryAttachments",
	{"socket.io-protocol", "Socket.IO protocol > message > should send a plain-text packet with an ack"}:                              "TestSocketIO_Message_PlainTextWithAck",
	{"socket.io-protocol", "Socket.IO protocol > message > should send a packet with binary attachments and an ack"}:                  "TestSocketIO_Message_BinaryAttachmentsWithAck",
	{"socket.io-protocol", "Socket.IO protocol > message > should close the connection upon invalid format (unknown packet type)"}:    "TestSocketIO_Message_InvalidPacketType",
	{"socket.io-protocol", "Socket.IO protocol > message > should close the connection upon invalid format (invalid payload format)"}: "TestSocketIO_Message_InvalidPayloadFormat",
	{"socket.io-protocol", "Socket.IO protocol > message > should close the connection upon invalid format (invalid ack id)"}:         "TestSocketIO_Message_InvalidAckID",
}

// TestSuiteMappingIsComplete keeps suiteCases honest: one Go test per suite case, 1:1, every
// mapped test exists, and every conformance test is mapped.
func TestSuiteMappingIsComplete(t *testing.T) {
	perSuite := map[string]int{}
	seen := map[string]suiteCase{}
	for c, name := range suiteCases {
		perSuite[c.Suite]++
		if prev, dup := seen[name]; dup {
			t.Errorf("%s replays two cases: %v and %v", name, prev, c)
		}
		seen[name] = c
	}
	if perSuite["engine.io-protocol"] != 24 || perSuite["socket.io-protocol"] != 32 {
		t.Errorf("mapped %v cases, want 24 engine.io-protocol and 32 socket.io-protocol", perSuite)
	}

	defined := goTests(t)
	for name := range seen {
		if !defined[name] {
			t.Errorf("mapped test %s is not defined", name)
		}
	}
	for name := range defined {
		if strings.HasPrefix(name, "TestEngineIO_") || strings.HasPrefix(name, "TestSocketIO_") {
			if _, ok := seen[name]; !ok {
				t.Errorf("%s replays no suite case", name)
			}
		}
	}
}

// goTests returns the names of the Test functions in this directory's test files.
func goTests(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*_test.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("list test files: %v", err)
	}
	out := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		for _, d := range af.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && strings.HasPrefix(fd.Name.Name, "Test") {
				out[fd.Name.Name] = true
			}
		}
	}
	return out
}

// TestSuiteMappingMatchesSuites checks suiteCases against the suites' own files when they are
// present (SYNCGATE_CONFORMANCE_DIR, default /work/conformance): a case added upstream or a
// renamed title shows up here.
func TestSuiteMappingMatchesSuites(t *testing.T) {
	dir := os.Getenv("SYNCGATE_CONFORMANCE_DIR")
	if dir == "" {
		dir = "/work/conformance"
	}
	for _, suite := range []string{"engine.io-protocol", "socket.io-protocol"} {
		src, err := os.ReadFile(filepath.Join(dir, suite, "test-suite", "test-suite.js"))
		if err != nil {
			t.Skipf("suite sources not available: %v", err)
		}
		cases := jsCases(string(src))
		want := map[string]bool{}
		for c := range suiteCases {
			if c.Suite == suite {
				want[c.Case] = true
			}
		}
		got := map[string]bool{}
		for _, c := range cases {
			got[c] = true
			if !want[c] {
				t.Errorf("%s: case %q has no Go test", suite, c)
			}
		}
		var missing []string
		for c := range want {
			if !got[c] {
				missing = append(missing, c)
			}
		}
		sort.Strings(missing)
		for _, c := range missing {
			t.Errorf("%s: mapped case %q is not in the suite", suite, c)
		}
	}
}

var jsTitle = regexp.MustCompile(`^(describe|it)\(\s*"([^"]*)"`)

// jsCases lists a mocha file's cases as "describe > ... > it" paths, tracking nesting by
// braces (enough for the suites' plain structure). The engine.io suite's single top-level
// describe is dropped, as in suiteCases.
func jsCases(src string) []string {
	type frame struct {
		title string
		depth int
	}
	var stack []frame
	var out []string
	depth := 0
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case '{':
			depth++
			continue
		case '}':
			depth--
			for len(stack) > 0 && stack[len(stack)-1].depth > depth {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if (src[i] != 'd' && src[i] != 'i') || (i > 0 && isIdent(src[i-1])) {
			continue
		}
		m := jsTitle.FindStringSubmatchIndex(src[i:])
		if m == nil {
			continue
		}
		kind, title := src[i+m[2]:i+m[3]], src[i+m[4]:i+m[5]]
		i += m[1] - 1
		if kind == "describe" {
			stack = append(stack, frame{title, depth + 1})
			continue
		}
		var parts []string
		for _, f := range stack {
			parts = append(parts, f.title)
		}
		if len(parts) > 0 && parts[0] == "Engine.IO protocol" && !strings.Contains(src, `describe("Socket.IO protocol"`) {
			parts = parts[1:]
		}
		out = append(out, strings.Join(append(parts, title), " > "))
	}
	return out
}

func isIdent(b byte) bool {
	return b == '_' || b == '.' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}
