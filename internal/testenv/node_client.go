package testenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ConnectResult is what a successful Connect learned.
type ConnectResult struct {
	Sid       string // socket.id
	Transport string // the engine's transport at connect: "polling" or "websocket"
	Recovered bool   // socket.recovered (connection state recovery)
}

// ConnectError is a connect_error the client saw before connecting: a
// namespace middleware's refusal (Message is the server's error message) or
// a transport failure ("xhr poll error", "websocket error", ...).
type ConnectError struct {
	Message string
	Data    json.RawMessage // the error's data, if the server sent any
}

func (e *ConnectError) Error() string {
	if len(e.Data) > 0 {
		return fmt.Sprintf("connect_error %q (data %s)", e.Message, e.Data)
	}
	return fmt.Sprintf("connect_error %q", e.Message)
}

// State is a socket's state as the client sees it.
type State struct {
	Connected bool
	Sid       string
	Transport string
}

// ManyResult sums up a ConnectMany.
type ManyResult struct {
	Connected int
	Errors    map[string]int // connect_error message -> count
	Hanging   int            // neither connected nor failed within the wait
}

// Driver-only keys of the opts of Connect and ConnectMany; every other key
// goes to io(url, opts) of socket.io-client as it is. A new Manager (a new
// connection) is made for every socket (forceNew) unless opts has
// "forceNew": false or names a manager.
const (
	// OptManager names a Manager to share: sockets connected with the same
	// OptManager value are namespaces multiplexed on one connection.
	OptManager = "manager"
	// OptNotify (bool) makes ConnectMany sockets send notifications; they
	// are silent by default. Connect's sockets always notify.
	OptNotify = "notify"
	// OptKeep (bool) keeps a socket whose first connection failed, so that
	// the client retries by itself (see WaitNotice with TypeConnect).
	OptKeep = "keep"
	// OptWaitMs (number) is how long, in milliseconds, to wait for connect;
	// 10000 by default.
	OptWaitMs = "waitMs"
)

// Connect opens socket name on url ("http://127.0.0.1:PORT/org/1": origin
// and namespace) and waits until it connects. A refusal returns a
// *ConnectError; no answer within the wait returns an error wrapping
// ErrTimeout. The socket is forgotten after a failure unless opts has OptKeep.
// Notifications that arrive before Connect returns (an event the server
// emits on connection) are queued as usual.
func (n *Node) Connect(name, url string, opts map[string]any) (ConnectResult, error) {
	wait := waitOf(opts)
	raw, rep, err := n.call(map[string]any{"op": "connect", "name": name, "url": url, "opts": nonNil(opts)}, wait+5*time.Second)
	if err != nil {
		return ConnectResult{}, err
	}
	if !rep.OK {
		var busy struct {
			Busy bool `json:"busy"`
		}
		_ = json.Unmarshal(raw, &busy)
		if busy.Busy {
			return ConnectResult{}, fmt.Errorf("testenv: connect socket %q: %s", name, rep.Error)
		}
		if keep, _ := opts[OptKeep].(bool); !keep {
			n.forget(name) // the driver forgot it too: no stale notifications for a reused name
		}
		if rep.Error == "timeout" {
			return ConnectResult{}, fmt.Errorf("testenv: socket %q to %s: no connect within %v: %w", name, url, wait, ErrTimeout)
		}
		return ConnectResult{}, &ConnectError{Message: rep.Error, Data: rep.Data}
	}
	var res struct {
		Sid       string `json:"sid"`
		Transport string `json:"transport"`
		Recovered bool   `json:"recovered"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return ConnectResult{}, fmt.Errorf("testenv: connect answer %s: %w", raw, err)
	}
	return ConnectResult(res), nil
}

// ConnectErr is Connect for a connection that must be refused: it returns
// the refusal, or an error if the socket connected (it is then closed) or
// nothing happened within the wait.
func (n *Node) ConnectErr(name, url string, opts map[string]any) (*ConnectError, error) {
	res, err := n.Connect(name, url, opts)
	if err == nil {
		_, _, _ = n.call(map[string]any{"op": "close", "name": name}, DefaultTimeout)
		n.forget(name)
		return nil, fmt.Errorf("testenv: socket %q to %s connected (sid %s) but should have been refused", name, url, res.Sid)
	}
	var ce *ConnectError
	if errors.As(err, &ce) {
		return ce, nil
	}
	return nil, err
}

// Emit emits event with args on socket name, without asking for an ack.
// Top-level []byte args travel as binary (see Bin).
func (n *Node) Emit(name, event string, args ...any) error {
	_, rep, err := n.call(map[string]any{"op": "emit", "name": name, "event": event, "args": wireArgs(args)}, DefaultTimeout)
	if err != nil {
		return err
	}
	if !rep.OK {
		return fmt.Errorf("testenv: emit %q on socket %q: %s", event, name, rep.Error)
	}
	return nil
}

// EmitAck emits event with args on socket name and returns the server's
// acknowledgement arguments; an error wrapping ErrTimeout if none came
// within timeout (DefaultTimeout if 0).
func (n *Node) EmitAck(name string, timeout time.Duration, event string, args ...any) ([]json.RawMessage, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	cmd := map[string]any{"op": "emit", "name": name, "event": event, "args": wireArgs(args),
		"ack": true, "timeout": timeout.Milliseconds()}
	raw, rep, err := n.call(cmd, timeout+5*time.Second)
	if err != nil {
		return nil, err
	}
	if !rep.OK {
		if rep.Error == "timeout" {
			return nil, fmt.Errorf("testenv: emit %q on socket %q: no ack within %v: %w", event, name, timeout, ErrTimeout)
		}
		return nil, fmt.Errorf("testenv: emit %q on socket %q: %s", event, name, rep.Error)
	}
	var res struct {
		Ack []json.RawMessage `json:"ack"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("testenv: ack answer %s: %w", raw, err)
	}
	return res.Ack, nil
}

// OnAck makes socket name answer the server's acknowledgement requests for
// event with reply. It may be called before Connect.
func (n *Node) OnAck(name, event string, reply ...any) {
	n.t.Helper()
	n.mustCall("onAck", map[string]any{"op": "onAck", "name": name, "event": event, "reply": wireArgs(reply)})
}

// Disconnect disconnects socket name (the client's socket.disconnect()); the
// socket stays known, and WaitDisconnect sees "io client disconnect".
func (n *Node) Disconnect(name string) {
	n.t.Helper()
	n.mustCall("disconnect", map[string]any{"op": "disconnect", "name": name})
}

// Close disconnects socket name and forgets it and its notifications.
func (n *Node) Close(name string) {
	n.t.Helper()
	n.mustCall("close", map[string]any{"op": "close", "name": name})
	n.forget(name)
}

// CloseAll closes every socket and every named manager.
func (n *Node) CloseAll() {
	n.t.Helper()
	n.mustCall("closeAll", map[string]any{"op": "closeAll"})
	n.mu.Lock()
	n.logs = map[string]*socketLog{}
	n.mu.Unlock()
}

// State returns socket name's state as the client sees it.
func (n *Node) State(name string) (State, error) {
	raw, rep, err := n.call(map[string]any{"op": "state", "name": name}, DefaultTimeout)
	if err != nil {
		return State{}, err
	}
	if !rep.OK {
		return State{}, fmt.Errorf("testenv: state of socket %q: %s", name, rep.Error)
	}
	var res struct {
		Connected bool   `json:"connected"`
		Sid       string `json:"sid"`
		Transport string `json:"transport"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return State{}, fmt.Errorf("testenv: state answer %s: %w", raw, err)
	}
	return State(res), nil
}

// ConnectMany opens count sockets named prefix0 .. prefix{count-1}, at most
// concurrency at a time, each with Connect's opts and wait, and sums up how
// they settled. Connected sockets stay open; the others are forgotten.
func (n *Node) ConnectMany(prefix string, count int, url string, opts map[string]any, concurrency int) (ManyResult, error) {
	if concurrency <= 0 {
		concurrency = 100
	}
	rounds := (count + concurrency - 1) / concurrency
	timeout := time.Duration(rounds)*waitOf(opts) + 30*time.Second
	cmd := map[string]any{"op": "connectMany", "prefix": prefix, "count": count, "url": url,
		"opts": nonNil(opts), "concurrency": concurrency}
	raw, rep, err := n.call(cmd, timeout)
	if err != nil {
		return ManyResult{}, err
	}
	if !rep.OK {
		return ManyResult{}, fmt.Errorf("testenv: connectMany %q: %s", prefix, rep.Error)
	}
	var res struct {
		Connected int            `json:"connected"`
		Errors    map[string]int `json:"errors"`
		Hanging   int            `json:"hanging"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return ManyResult{}, fmt.Errorf("testenv: connectMany answer %s: %w", raw, err)
	}
	return ManyResult(res), nil
}

func (n *Node) mustCall(op string, cmd map[string]any) {
	n.t.Helper()
	_, rep, err := n.call(cmd, DefaultTimeout)
	if err != nil {
		n.t.Fatalf("%v", err)
	}
	if !rep.OK {
		n.t.Fatalf("testenv: node %s %q: %s", op, cmd["name"], rep.Error)
	}
}

// waitOf is the connect wait opts ask for (OptWaitMs), else DefaultTimeout.
func waitOf(opts map[string]any) time.Duration {
	var d time.Duration
	switch v := opts[OptWaitMs].(type) {
	case int:
		d = time.Duration(v) * time.Millisecond
	case int64:
		d = time.Duration(v) * time.Millisecond
	case float64:
		d = time.Duration(v * float64(time.Millisecond))
	}
	if d <= 0 {
		return DefaultTimeout
	}
	return d
}

func nonNil(opts map[string]any) map[string]any {
	if opts == nil {
		return map[string]any{}
	}
	return opts
}

// wireArgs wraps top-level []byte args as binary values.
func wireArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		if b, ok := a.([]byte); ok {
			a = Bin(b)
		}
		out[i] = a
	}
	return out
}
