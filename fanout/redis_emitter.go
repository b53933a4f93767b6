package fanout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"github.com/syncgate/syncgate/namespaces"
	"time"

	"fmt"
	"github.com/redis/go-redis/v9"
	"strings"

	"github.com/vmihailenco/msgpack/v5"
)

// The reference redis-adapter protocol, as spoken by @socket.io/redis-emitter and its ports:
// PUBLISH on "socket.io#<nsp>#" (or "socket.io#<nsp>#<room>#" for one room) of a msgpack
// array [uid, packet, opts], packet = {type: 2, data: [event, ...args], nsp}, opts =
// {rooms: [...], except: [...], flags: {...}}. syncgate nodes do not talk to each other this
// way (they use the bus stream); they only listen, so backend services with an emitter can
// publish into syncgate's namespaces.

// emitterEvent is the packet type of a Socket.IO EVENT, the only one an emitter broadcasts.
const emitterEvent = 2

// emitterMessage is the decoded [uid, packet, opts] array.
type emitterMessage struct {
	_msgpack struct{} `msgpack:",as_array"`
	UID      string
	Packet   struct {
		Type int    `msgpack:"type"`
		Data []any  `msgpack:"data"`
		Nsp  string `msgpack:"nsp"`
	}
	Opts struct {
		Rooms  []string       `msgpack:"rooms"`
		Except []string       `msgpack:"except"`
		Flags  map[string]any `msgpack:"flags"`
	}
}

// decodeEmitter turns one reference-protocol message into a broadcast, or an error for
// anything but a plain EVENT with a string event name.
func decodeEmitter(channel string, payload []byte) (*namespaces.Broadcast, error) {
	var m emitterMessage
	if err := msgpack.Unmarshal(payload, &m); err != nil {
		return nil, fmt.Errorf("msgpack: %w", err)
	}
	if m.Packet.Type != emitterEvent || len(m.Packet.Data) == 0 {
		return nil, fmt.Errorf("packet type %d not supported", m.Packet.Type)
	}
	event, ok := m.Packet.Data[0].(string)
	if !ok || event == "" {
		return nil, fmt.Errorf("event name is not a string")
	}
	nsp := m.Packet.Nsp
	if nsp == "" {
		nsp = "/"
	}
	if !strings.HasPrefix(channel, "socket.io#"+nsp+"#") {
		return nil, fmt.Errorf("channel %q does not match namespace %q", channel, nsp)
	}
	return &namespaces.Broadcast{Nsp: nsp, Rooms: m.Opts.Rooms, Except: m.Opts.Except, Event: event, Args: normalize(m.Packet.Data[1:])}, nil
}

// normalize turns msgpack's decoded maps into JSON-encodable values.
func normalize(v []any) []any {
	out := make([]any, len(v))
	for i, e := range v {
		out[i] = normalizeValue(e)
	}
	return out
}

func normalizeValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = normalizeValue(e)
		}
		return m
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = normalizeValue(e)
		}
		return m
	case []any:
		return normalize(t)
	default:
		return v
	}
}

// readEmitters delivers reference-protocol broadcasts until Close. go-redis re-subscribes
// by itself after a lost connection.
func (a *Redis) readEmitters() {
	defer a.wg.Done()
	ps := a.rdb.PSubscribe(a.ctx, emitterPattern)
	stop := context.AfterFunc(a.ctx, func() { _ = ps.Close() })
	defer stop()
	for msg := range ps.Channel() {
		b, err := decodeEmitter(msg.Channel, []byte(msg.Payload))
		if err != nil {
			a.log.Debug("redis emitter message skipped", "channel", msg.Channel, "err", err)
			continue
		}
		a.stats.EmitterReceived.Add(1)
		a.hooks.DeliverLocal(b)
		a.markUnrecoverable(msg.Channel, msg.Payload, b.Nsp)
	}
}

// markUnrecoverable puts one resync marker in the namespace log for an emitter broadcast
// (once, whichever node gets there first): emitter broadcasts are not logged, so a client
// that was away when one went out must not recover "completely" past it.
func (a *Redis) markUnrecoverable(channel, payload, nsp string) {
	ctx, cancel := context.WithTimeout(a.ctx, time.Second)
	defer cancel()
	h := sha256.Sum256([]byte(channel + "\x00" + payload))
	first, err := a.rdb.SetNX(ctx, redisEmitterPrefix+hex.EncodeToString(h[:16]), 1, time.Minute).Result()
	if err != nil || !first {
		return
	}
	marker, _ := json.Marshal(wireBroadcast{Nsp: nsp, Event: namespaces.EventResync, Resync: true})
	err = a.rdb.XAdd(ctx, &redis.XAddArgs{Stream: redisLogPrefix + nsp, MaxLen: a.perNsp, Values: []any{"p", marker}}).Err()
	if err != nil {
		a.log.Warn("emitter broadcast not marked in the recovery log", "nsp", nsp, "err", err)
	}
}
