package testenv

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Kinds of notification (Event.Type).
const (
	TypeEvent        = "event"         // the server emitted an event to the socket
	TypeDisconnect   = "disconnect"    // the socket disconnected (Reason says why)
	TypeConnect      = "connect"       // the socket connected again (reconnection)
	TypeConnectError = "connect_error" // a later connection attempt failed
	TypeTransport    = "transport"     // the engine upgraded its transport
)

// Event is one notification of the driver about a socket.
type Event struct {
	Seq    int    // arrival order among all notifications of this Node, from 1
	Type   string // one of the Type* constants
	Socket string // the socket's name

	Event        string            // TypeEvent: event name
	Args         []json.RawMessage // TypeEvent: arguments; binary ones as {"$bin":"base64"}
	AckRequested bool              // TypeEvent: the server asked for an acknowledgement

	Reason    string          // TypeDisconnect
	Message   string          // TypeConnectError
	Data      json.RawMessage // TypeConnectError: the error's data, if any
	Sid       string          // TypeConnect
	Recovered bool            // TypeConnect: connection state recovery succeeded
	Transport string          // TypeTransport: the new transport ("websocket")

	// Skipped lists what WaitEvent (server events) or WaitNotice (other
	// notifications) consumed before this one, oldest first.
	Skipped []Event
}

// Arg decodes argument i into v.
func (e Event) Arg(i int, v any) error {
	if i < 0 || i >= len(e.Args) {
		return fmt.Errorf("testenv: event %q has %d args, no arg %d", e.Event, len(e.Args), i)
	}
	if err := json.Unmarshal(e.Args[i], v); err != nil {
		return fmt.Errorf("testenv: event %q arg %d %s: %w", e.Event, i, e.Args[i], err)
	}
	return nil
}

// String describes the event for failure messages.
func (e Event) String() string {
	switch e.Type {
	case TypeEvent:
		args := make([]string, len(e.Args))
		for i, a := range e.Args {
			args[i] = string(a)
		}
		return fmt.Sprintf("#%d event %q [%s]", e.Seq, e.Event, strings.Join(args, ","))
	case TypeDisconnect:
		return fmt.Sprintf("#%d disconnect (%s)", e.Seq, e.Reason)
	case TypeConnectError:
		return fmt.Sprintf("#%d connect_error %q %s", e.Seq, e.Message, e.Data)
	case TypeConnect:
		return fmt.Sprintf("#%d connect sid=%s recovered=%v", e.Seq, e.Sid, e.Recovered)
	case TypeTransport:
		return fmt.Sprintf("#%d transport %s", e.Seq, e.Transport)
	}
	return fmt.Sprintf("#%d %s", e.Seq, e.Type)
}

// Bin wraps b for the driver, which hands it to the client as a Buffer.
// Emit and EmitAck wrap top-level []byte arguments themselves; use Bin for
// binary values nested in objects or arrays.
func Bin(b []byte) any { return map[string]string{"$bin": base64.StdEncoding.EncodeToString(b)} }

// DecodeBin decodes a binary value received from the driver ({"$bin":...}).
func DecodeBin(raw json.RawMessage) ([]byte, error) {
	var v struct {
		Bin *string `json:"$bin"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || v.Bin == nil {
		return nil, fmt.Errorf("testenv: %.100s is not a binary value", raw)
	}
	b, err := base64.StdEncoding.DecodeString(*v.Bin)
	if err != nil {
		return nil, fmt.Errorf("testenv: binary value: %w", err)
	}
	return b, nil
}

// socketLog is what the driver told about one socket name.
type socketLog struct {
	all     []Event // everything, in arrival order
	events  []Event // server events not consumed yet
	notices []Event // other notifications not consumed yet
}

// wireNotice is a notification line of the driver.
type wireNotice struct {
	Type      string            `json:"type"`
	Name      string            `json:"name"`
	Event     string            `json:"event"`
	Args      []json.RawMessage `json:"args"`
	Ack       bool              `json:"ack"`
	Reason    string            `json:"reason"`
	Message   string            `json:"message"`
	Data      json.RawMessage   `json:"data"`
	Sid       string            `json:"sid"`
	Recovered bool              `json:"recovered"`
	Transport string            `json:"transport"`
}

func (n *Node) notify(line []byte) {
	var w wireNotice
	if err := json.Unmarshal(line, &w); err != nil || w.Type == "" || w.Name == "" {
		n.t.Logf("testenv: node driver sent an unknown notification: %.200s", line)
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.seq++
	ev := Event{
		Seq: n.seq, Type: w.Type, Socket: w.Name,
		Event: w.Event, Args: w.Args, AckRequested: w.Ack,
		Reason: w.Reason, Message: w.Message, Data: w.Data,
		Sid: w.Sid, Recovered: w.Recovered, Transport: w.Transport,
	}
	l := n.logLocked(w.Name)
	l.all = append(l.all, ev)
	if ev.Type == TypeEvent {
		l.events = append(l.events, ev)
	} else {
		l.notices = append(l.notices, ev)
	}
	close(n.changed)
	n.changed = make(chan struct{})
}

func (n *Node) logLocked(name string) *socketLog {
	l := n.logs[name]
	if l == nil {
		l = &socketLog{}
		n.logs[name] = l
	}
	return l
}

// forget drops everything queued for name.
func (n *Node) forget(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.logs, name)
}

// Events returns every notification received so far for socket name, in
// arrival order, whether consumed by a wait or not.
func (n *Node) Events(name string) []Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	if l := n.logs[name]; l != nil {
		return append([]Event(nil), l.all...)
	}
	return nil
}

// NextEvent consumes and returns the oldest unconsumed server event of
// socket name, waiting up to timeout (DefaultTimeout if 0) for one.
func (n *Node) NextEvent(name string, timeout time.Duration) (Event, error) {
	return n.wait(name, timeout, "any event", false, func(Event) bool { return true })
}

// WaitEvent consumes server events of socket name up to and including the
// first named event, waiting up to timeout (DefaultTimeout if 0). The
// events consumed before it are in the result's Skipped. A wait that times
// out consumes nothing.
func (n *Node) WaitEvent(name, event string, timeout time.Duration) (Event, error) {
	return n.wait(name, timeout, fmt.Sprintf("event %q", event), false, func(e Event) bool { return e.Event == event })
}

// WaitNotice consumes the notifications of socket name other than server
// events (see the Type* constants) up to and including the first of type
// typ, waiting up to timeout (DefaultTimeout if 0).
func (n *Node) WaitNotice(name, typ string, timeout time.Duration) (Event, error) {
	return n.wait(name, timeout, typ, true, func(e Event) bool { return e.Type == typ })
}

// WaitDisconnect is WaitNotice(name, TypeDisconnect, timeout).
func (n *Node) WaitDisconnect(name string, timeout time.Duration) (Event, error) {
	return n.WaitNotice(name, TypeDisconnect, timeout)
}

// wait takes from the event queue (or the notice queue) of name the first
// entry that matches, consuming those before it.
func (n *Node) wait(name string, timeout time.Duration, what string, notices bool, match func(Event) bool) (Event, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		n.mu.Lock()
		l := n.logLocked(name)
		q := &l.events
		if notices {
			q = &l.notices
		}
		for i, e := range *q {
			if match(e) {
				e.Skipped = append([]Event(nil), (*q)[:i]...)
				*q = (*q)[i+1:]
				n.mu.Unlock()
				return e, nil
			}
		}
		pending := append([]Event(nil), *q...)
		other := l.notices
		if notices {
			other = l.events
		}
		pending = append(pending, other...)
		slices.SortFunc(pending, func(a, b Event) int { return a.Seq - b.Seq })
		changed := n.changed
		n.mu.Unlock()

		select {
		case <-changed:
			continue
		case <-n.readDone:
			// Take what arrived before the end, once.
			n.mu.Lock()
			last := n.changed
			n.mu.Unlock()
			if last != changed {
				continue
			}
			return Event{}, fmt.Errorf("testenv: socket %q: waiting for %s: %w; received instead: %s%s",
				name, what, ErrDriverExited, describe(pending), n.stderrNote())
		case <-timer.C:
			return Event{}, fmt.Errorf("testenv: socket %q: no %s within %v (%w); received instead: %s",
				name, what, timeout, ErrTimeout, describe(pending))
		}
	}
}

func describe(evs []Event) string {
	if len(evs) == 0 {
		return "nothing"
	}
	s := make([]string, len(evs))
	for i, e := range evs {
		s[i] = e.String()
	}
	return strings.Join(s, "; ")
}
