package interop

import (
	"context"
	"testing"
	"time"

	"github.com/zishang520/socket.io/clients/engine/v3/transports"
	gosocket "github.com/zishang520/socket.io/clients/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/syncgate/syncgate/engineio"
)

// goAck is what an acknowledgement callback of the Go client received.
type goAck struct {
	args []any
	err  error
}

// goClient is one socket of github.com/zishang520/socket.io/clients/socket/v3 whose
// events are collected on channels.
type goClient struct {
	sock      *gosocket.Socket
	connected chan string // socket ID, on every connect
	failed    chan []any  // connect_error arguments
	news      chan []any  // "personview.addrow" arguments
}

// dialGo connects a Go client to url (origin and namespace) over transport and waits until
// it is connected. It is disconnected on cleanup.
//
// The client's Manager subscribes to its engine's "open" event only after the engine has
// started, so when the server's open packet comes back fast enough the Manager never hears of
// it and never sends its CONNECT (seen on the wire: the engine answers pings, no CONNECT
// follows). Its connect timeout and reconnection, on by default, recover from that; they are
// kept on here with a short timeout, and a connect_error only fails the test if no connect
// follows.
func dialGo(t *testing.T, url string, transport transports.TransportCtor) *goClient {
	t.Helper()
	opts := gosocket.DefaultOptions()
	opts.SetTransports(types.NewSet(transport))
	opts.SetForceNew(true)
	opts.SetAutoConnect(false) // listeners first, then Connect
	opts.SetTimeout(2 * time.Second)
	opts.SetReconnectionDelay(50)
	opts.SetReconnectionDelayMax(100)
	sock, err := gosocket.Connect(url, opts)
	if err != nil {
		t.Fatalf("go client for %s: %v", url, err)
	}
	c := &goClient{
		sock:      sock,
		connected: make(chan string, 4),
		failed:    make(chan []any, 16),
		news:      make(chan []any, 16),
	}
	on := func(event string, f func(...any)) {
		if err := sock.On(types.EventName(event), f); err != nil {
			t.Fatalf("go client: listen to %q: %v", event, err)
		}
	}
	on("connect", func(...any) { c.connected <- sock.Id() })
	on("connect_error", func(args ...any) {
		select {
		case c.failed <- args:
		default:
		}
	})
	on("personview.addrow", func(args ...any) { c.news <- args })
	// The server asks for an ack: answer with "answer" and the question's first argument.
	on("question", func(args ...any) {
		if len(args) == 0 {
			return
		}
		if ack, ok := args[len(args)-1].(func([]any, error)); ok {
			ack([]any{"answer", args[0]}, nil)
		}
	})
	t.Cleanup(func() { sock.Disconnect() })
	sock.Connect()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	var lastErr []any
	for {
		select {
		case id := <-c.connected:
			if id == "" {
				t.Fatal("go client connected without a socket ID")
			}
			if lastErr != nil {
				t.Logf("go client connected after connect_error %v", lastErr)
			}
			return c
		case lastErr = <-c.failed:
		case <-timer.C:
			t.Fatalf("go client: not connected to %s within %v (last connect_error %v)", url, waitTimeout, lastErr)
		}
	}
}

// TestGoClient: a Go service using github.com/zishang520/socket.io/clients/socket/v3
// connects to an org namespace over each transport, receives a broadcast, gets the ack of
// its emit and answers the server's ack request.
//
// The client's polling transport runs its POSTs and its long-polling GET one after the
// other on a single queue, so what it sends waits until the pending GET is answered, i.e.
// until the server sends something (at worst the next ping, PingInterval later). Any server
// that holds polls, the reference one included, shows this; the polling case therefore runs
// with a short PingInterval so that the client's emit and ack go out promptly.
func TestGoClient(t *testing.T) {
	for _, tc := range []struct {
		name      string
		transport transports.TransportCtor
		engine    engineio.Options
	}{
		{"websocket", gosocket.WebSocket, engineio.Options{}},
		{"polling", gosocket.Polling, engineio.Options{PingInterval: 200 * time.Millisecond, PingTimeout: time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, serverConfig{Engine: tc.engine})
			c := dialGo(t, ts.orgURL("1"), tc.transport)
			sid := c.sock.Id()
			sock := ts.socket(t, sid)
			if got := sock.Transport(); got != tc.name {
				t.Fatalf("server sees transport %q, want %q", got, tc.name)
			}

			payload := map[string]any{"viewId": 2, "personId": 3}
			if err := ts.server().Emit("/org/1", "personview.addrow", payload); err != nil {
				t.Fatal(err)
			}
			select {
			case args := <-c.news:
				assertJSON(t, "broadcast args", args, []any{payload})
			case <-time.After(waitTimeout):
				t.Fatalf("no broadcast within %v", waitTimeout)
			}

			acks := make(chan goAck, 1)
			if err := c.sock.Emit("echo", "hi", 7, func(args []any, err error) { acks <- goAck{args, err} }); err != nil {
				t.Fatal(err)
			}
			select {
			case a := <-acks:
				if a.err != nil {
					t.Fatalf("ack error: %v", a.err)
				}
				assertJSON(t, "echo ack", a.args, []any{"hi", 7})
			case <-time.After(waitTimeout):
				t.Fatalf("no ack within %v", waitTimeout)
			}

			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			ans, err := sock.EmitWithAck(ctx, "question", "why?")
			if err != nil {
				t.Fatal(err)
			}
			assertJSON(t, "client's answer", ans, []any{"answer", "why?"})

			// The client often closes its connection without sending its DISCONNECT packet
			// (over websocket it cuts the TCP connection; over polling its last POST may never
			// be sent, and the heartbeat finds out). Whichever way, the socket must go.
			c.sock.Disconnect()
			switch reason := ts.gone(t, sid); reason {
			case "client namespace disconnect", "transport close", "ping timeout":
				t.Logf("server saw the Go client leave: %s", reason)
			default:
				t.Fatalf("server saw disconnect %q, want the client's disconnect, a close or a ping timeout", reason)
			}
		})
	}
}
