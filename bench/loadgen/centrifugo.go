package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"
)

// Centrifugo's JSON protocol (client protocol v2): commands and replies are JSON objects,
// several of them in one websocket message separated by newlines. A connect command carries
// free-form data, which the server hands to its connect proxy; the benchmark's proxy (the
// Centrifugo relay, bench/peers/centrifugo) reads {"token","org"} from it, checks the
// membership and subscribes the connection to "org:N" server-side. Publications then arrive
// as {"push":{"channel":"org:N","pub":{"data":{...}}}}. The server pings with an empty
// object and expects an empty object back.

var (
	centConnectReply = []byte(`"id":1,"connect"`)
	centErrorReply   = []byte(`"id":1,"error"`)
	centPing         = []byte("{}")
	centPub          = []byte(`"pub"`)
)

// connectCentrifugo: upgrade, send the connect command, await its reply, hand the socket to
// an epoll loop.
func (s *Socket) connectCentrifugo(ctx context.Context) error {
	ws, err := dialWS(ctx, s.addr, s.f.cfg.Path)
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = ws.nc.SetDeadline(dl)
	}
	fail := func(err error) error {
		_ = ws.close()
		return err
	}
	sentAt := time.Now()
	cmd := `{"id":1,"connect":{"data":{"token":"` + s.token + `","org":` + strconv.Itoa(s.org) + `}}}`
	if err := ws.writeText(cmd); err != nil {
		return fail(err)
	}
	for {
		_, p, err := ws.readMessage()
		if err != nil {
			return fail(fmt.Errorf("%w: %w", errAwaitingAck, err))
		}
		for line := range bytes.SplitSeq(p, []byte("\n")) {
			switch {
			case bytes.Contains(line, centConnectReply):
				s.admit = time.Since(sentAt)
				s.rmu.Lock()
				err := s.handOver(ws)
				s.rmu.Unlock()
				if err != nil {
					return fail(err)
				}
				return nil
			case bytes.Contains(line, centErrorReply):
				s.admit = time.Since(sentAt)
				return fail(fmt.Errorf("%w: %s", ErrRefused, trunc(line)))
			case bytes.Equal(bytes.TrimSpace(line), centPing):
				if err := ws.writeText("{}"); err != nil {
					return fail(err)
				}
			}
		}
	}
}

// handleCentrifugo reacts to one websocket message of Centrifugo's JSON protocol: each line
// is a ping (answered) or a push whose publication is recorded.
func (s *Socket) handleCentrifugo(p []byte) action {
	act := actNone
	for line := range bytes.SplitSeq(p, []byte("\n")) {
		line = bytes.TrimSpace(line)
		switch {
		case bytes.Equal(line, centPing):
			act = actPong
		case bytes.Contains(line, centPub):
			if seq, ok := parseSeq(line); ok {
				s.record(seq, s.f.now())
			}
		}
	}
	return act
}

// pong is the answer to a ping in the fleet's protocol.
func (s *Socket) pong() []byte {
	if s.f.cfg.Protocol == Centrifugo {
		return centPing
	}
	return []byte("3")
}
