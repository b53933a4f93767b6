package engineio

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestWebSocketCloseHandshakeAnsweredPromptly: a client's Close frame is answered with a Close
// frame echoing its code at once, not when a write timeout finally cuts the connection.
func TestWebSocketCloseHandshakeAnsweredPromptly(t *testing.T) {
	ts := startServer(t, Options{PingInterval: time.Hour, WriteTimeout: 30 * time.Second}, nil)
	ws := ts.dialWS(nil, "EIO=4&transport=websocket", nil)
	readText(t, ws)
	r := ts.session()

	start := time.Now()
	msg := websocket.FormatCloseMessage(4001, "bye")
	if err := ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(waitLimit)); err != nil {
		t.Fatalf("send close: %v", err)
	}
	err := readUntilClosed(t, ws)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4001 {
		t.Fatalf("read after close: %v, want a Close frame with code 4001", err)
	}
	if d := time.Since(start); d > waitLimit {
		t.Fatalf("Close answered after %v", d)
	}
	if reason := awaitClose(t, r); reason != "transport close" {
		t.Errorf("close reason %q, want transport close", reason)
	}
	if n := ts.eio.Count(); n != 0 {
		t.Errorf("Count() = %d, want 0", n)
	}
}

// TestServerCloseFlushesQueueThenCloseFrame: Conn.Close delivers what is queued, then a
// normal Close frame.
func TestServerCloseFlushesQueueThenCloseFrame(t *testing.T) {
	ts := startServer(t, Options{PingInterval: time.Hour}, nil)
	ws := ts.dialWS(nil, "EIO=4&transport=websocket", nil)
	readText(t, ws)
	r := ts.session()
	for i := 0; i < 5; i++ {
		if err := r.conn.Send(NewMessageString(fmt.Sprint(i))); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	r.conn.Close()
	for i := 0; i < 5; i++ {
		if got, want := readText(t, ws), fmt.Sprintf("4%d", i); got != want {
			t.Fatalf("frame %d: %q, want %q", i, got, want)
		}
	}
	err := readUntilClosed(t, ws)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure {
		t.Fatalf("after the queue: %v, want a normal Close frame", err)
	}
	if reason := awaitClose(t, r); reason != "forced close" {
		t.Errorf("close reason %q, want forced close", reason)
	}
}

// TestWebSocketPingFrameAnswered: a websocket-level ping gets a pong with the same payload.
func TestWebSocketPingFrameAnswered(t *testing.T) {
	ts := startServer(t, Options{PingInterval: time.Hour}, nil)
	ws := ts.dialWS(nil, "EIO=4&transport=websocket", nil)
	readText(t, ws)
	pong := make(chan string, 1)
	ws.SetPongHandler(func(data string) error { pong <- data; return nil })
	if err := ws.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(waitLimit)); err != nil {
		t.Fatalf("ping: %v", err)
	}
	go func() { _, _, _ = ws.ReadMessage() }() // control frames are handled while reading
	select {
	case got := <-pong:
		if got != "hi" {
			t.Fatalf("pong payload %q, want hi", got)
		}
	case <-time.After(waitLimit):
		t.Fatal("no pong")
	}
}
