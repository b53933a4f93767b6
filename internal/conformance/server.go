// Package conformance is the reference configuration of the official Engine.IO and Socket.IO
// protocol test suites, served by syncgate's own engineio and namespaces packages.
//
// `syncgate conformance` serves it on localhost:3000; the Go tests beside it replay every
// case of both suites in their own words, so CI checks conformance without the suites.
package conformance

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/syncgate/syncgate/engineio"
	"github.com/syncgate/syncgate/namespaces"
)

// Settings the suites assume.
const (
	PingInterval = 300 * time.Millisecond
	PingTimeout  = 200 * time.Millisecond
	MaxPayload   = 1_000_000
	// ConnectTimeout is the reference's 1s plus a margin: the suite's heartbeat tests stay
	// ~900 ms on a connection that joins no namespace, and the no-handshake test waits 2 s.
	ConnectTimeout = 1500 * time.Millisecond
)

// Handler serves the raw Engine.IO echo server at /engine.io/ and the Socket.IO server at
// /socket.io/ (namespaces "/" and "/custom"), as the suites' reference servers do. close
// shuts both down.
func Handler() (h http.Handler, close func()) {
	eopts := engineio.Options{
		PingInterval: PingInterval,
		PingTimeout:  PingTimeout,
		MaxPayload:   MaxPayload,
	}
	echoOpts := eopts
	echoOpts.OnOpen = func(c *engineio.Conn) engineio.Listener { return echo{c} }
	eio := engineio.NewServer(echoOpts)

	sio := namespaces.NewServer(namespaces.Options{Engine: eopts, ConnectTimeout: ConnectTimeout})
	sio.Handle(namespaces.Handler{
		Match: func(name string) bool { return name == "/" || name == "/custom" },
		OnConnect: func(s *namespaces.Socket) {
			_ = s.Emit("auth", authOf(s))
			if s.Namespace() != "/" {
				return
			}
			s.On("message", func(s *namespaces.Socket, args []any, _ func(...any)) {
				_ = s.Emit("message-back", args...)
			})
			s.On("message-with-ack", func(s *namespaces.Socket, args []any, ack func(...any)) {
				if ack != nil {
					ack(args...)
				}
			})
		},
		Admit: func(_ context.Context, req *namespaces.ConnectRequest) (any, error) {
			if len(req.Auth) == 0 {
				return json.RawMessage(`{}`), nil
			}
			return req.Auth, nil
		},
	})
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", eio)
	mux.Handle("/socket.io/", sio)
	return mux, func() { eio.Close(); _ = sio.Close() }
}

// authOf returns the CONNECT payload the socket was admitted with ({} when none).
func authOf(s *namespaces.Socket) json.RawMessage { return s.Data().(json.RawMessage) }

// echo sends every message back, as the engine.io suite's reference server does.
type echo struct{ c *engineio.Conn }

func (e echo) OnMessage(data []byte, binary bool) {
	if binary {
		_ = e.c.Send(engineio.NewBinaryMessage(data))
		return
	}
	_ = e.c.Send(engineio.NewMessage(data))
}

func (e echo) OnClose(string) {}
