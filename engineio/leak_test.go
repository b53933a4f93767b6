package engineio

import (
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestNoLeakAfterThousandConnections opens and closes 1,000 sessions of every kind and
// checks that the server is back where it started: no session, no goroutine left behind.
func TestNoLeakAfterThousandConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1,000 connections")
	}
	var opened atomic.Int32
	opts := originOptions(&opened)
	opts.PingInterval = 25 * time.Second
	ts := startServer(t, opts, nil)
	ok := origin(allowedOrigin)
	evil := origin("https://evil.example")
	dialer := &websocket.Dialer{HandshakeTimeout: waitLimit}

	runtime.GC()
	baseline := runtime.NumGoroutine()

	kinds := []func(i int) error{
		func(int) error { // websocket, closed by the client with a Close frame
			ws, _, err := dialer.Dial(ts.wsURL("EIO=4&transport=websocket"), ok)
			if err != nil {
				return err
			}
			defer ws.Close()
			return closeWS(ws, true)
		},
		func(int) error { // long-polling, closed by a close packet
			resp, body, err := ts.try(http.MethodGet, ts.url("EIO=4&transport=polling"), "", ok)
			if err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("handshake %d", resp.StatusCode)
			}
			sid, err := parseSID(body)
			if err != nil {
				return err
			}
			if resp, _, err = ts.try(http.MethodPost, ts.url(pollQuery(sid)), "1", ok); err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("close POST %d", resp.StatusCode)
			}
			return nil
		},
		func(int) error { // polling upgraded to websocket, then the TCP connection dropped
			resp, body, err := ts.try(http.MethodGet, ts.url("EIO=4&transport=polling"), "", ok)
			if err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("handshake %d", resp.StatusCode)
			}
			sid, err := parseSID(body)
			if err != nil {
				return err
			}
			ws, _, err := dialer.Dial(ts.wsURL("EIO=4&transport=websocket&sid="+sid), ok)
			if err != nil {
				return err
			}
			defer ws.Close()
			_ = ws.SetReadDeadline(time.Now().Add(waitLimit))
			if err := ws.WriteMessage(websocket.TextMessage, []byte("2probe")); err != nil {
				return err
			}
			if _, m, err := ws.ReadMessage(); err != nil || string(m) != "3probe" {
				return fmt.Errorf("probe: %q %v", m, err)
			}
			if err := ws.WriteMessage(websocket.TextMessage, []byte("5")); err != nil {
				return err
			}
			// A pong to a ping sent after the upgrade packet proves the upgrade is done.
			errPong := errors.New("pong")
			ws.SetPongHandler(func(string) error { return errPong })
			if err := ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(waitLimit)); err != nil {
				return err
			}
			if _, _, err := ws.ReadMessage(); !errors.Is(err, errPong) {
				return fmt.Errorf("no pong after the upgrade: %v", err)
			}
			return closeWS(ws, false)
		},
		func(i int) error { // refused by AllowRequest, on either transport
			if i%2 == 0 {
				resp, _, err := ts.try(http.MethodGet, ts.url("EIO=4&transport=polling"), "", evil)
				if err != nil {
					return err
				}
				if resp.StatusCode != http.StatusForbidden {
					return fmt.Errorf("foreign polling handshake %d", resp.StatusCode)
				}
				return nil
			}
			ws, resp, err := dialer.Dial(ts.wsURL("EIO=4&transport=websocket"), evil)
			if err == nil {
				ws.Close()
				return errors.New("foreign websocket accepted")
			}
			if resp == nil || resp.StatusCode != http.StatusForbidden {
				return fmt.Errorf("foreign websocket: %v", err)
			}
			return nil
		},
	}

	const perKind = 250
	jobs := make(chan int)
	var wg sync.WaitGroup
	var failures atomic.Int32
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := kinds[j%len(kinds)](j / len(kinds)); err != nil {
					if failures.Add(1) <= 5 {
						t.Errorf("connection %d (kind %d): %v", j, j%len(kinds), err)
					}
				}
			}
		}()
	}
	for j := 0; j < perKind*len(kinds); j++ {
		jobs <- j
	}
	close(jobs)
	wg.Wait()
	if n := opened.Load(); n != 3*perKind {
		t.Errorf("%d sessions opened, want %d (refused requests must open none)", n, 3*perKind)
	}

	ts.client.Transport.(*http.Transport).CloseIdleConnections()
	eventually(t, "every session is gone", func() bool { return ts.eio.Count() == 0 })
	const slack = 4
	deadline := time.Now().Add(waitLimit)
	for {
		n := runtime.NumGoroutine()
		if n <= baseline+slack {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, baseline %d:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// closeWS ends a websocket from the client side: with a Close handshake (waiting for the
// server's answer) or by dropping the TCP connection.
func closeWS(ws *websocket.Conn, handshake bool) error {
	if !handshake {
		return ws.NetConn().Close()
	}
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(waitLimit)); err != nil {
		return err
	}
	_ = ws.SetReadDeadline(time.Now().Add(waitLimit))
	for i := 0; i < 10; i++ {
		_, _, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("no Close answer: %w", err)
		}
	}
	return errors.New("no Close answer")
}
