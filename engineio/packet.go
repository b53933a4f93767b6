package engineio

import (
	"bytes"
	"encoding/base64"
	"errors"
	"sync"
)

// Engine.IO v4 packet types, as they appear on the wire.
const (
	typeOpen    byte = '0'
	typeClose   byte = '1'
	typePing    byte = '2'
	typePong    byte = '3'
	typeMessage byte = '4'
	typeUpgrade byte = '5'
	typeNoop    byte = '6'
)

// recordSeparator separates packets in a long-polling payload.
const recordSeparator = '\x1e'

// ErrInvalidPacket is returned for a packet that is not valid Engine.IO v4.
var ErrInvalidPacket = errors.New("engineio: invalid packet")

// Packet is one outgoing Engine.IO packet. It is immutable once built and may be sent to any
// number of connections: each transport encodes it at most once (websocket frame, polling text).
type Packet struct {
	binary bool
	// text is the polling/websocket text form ("4hello") for text packets and the raw payload
	// for binary packets. For text packets built by NewMessage it aliases frame's tail.
	text []byte

	frameOnce sync.Once
	frame     []byte // the complete, unmasked websocket frame (header + payload)

	b64Once sync.Once
	b64     []byte // "b" + base64(payload), the polling form of a binary packet

	wsOnly bool // a raw websocket control frame
}

// NewMessage builds a text message packet carrying data (a Socket.IO packet, usually JSON).
// The websocket frame is laid out in the same allocation, so broadcasting it costs one
// allocation whatever the number of receivers.
func NewMessage(data []byte) *Packet {
	n := 1 + len(data)
	hdr := frameHeaderLen(n)
	buf := make([]byte, hdr+n)
	putFrameHeader(buf, opText, n)
	buf[hdr] = typeMessage
	copy(buf[hdr+1:], data)
	p := &Packet{text: buf[hdr:], frame: buf}
	p.frameOnce.Do(func() {})
	return p
}

// NewMessageString is NewMessage for a string.
func NewMessageString(s string) *Packet { return NewMessage([]byte(s)) }

// NewBinaryMessage builds a binary message packet. data must not be modified afterwards.
func NewBinaryMessage(data []byte) *Packet {
	return &Packet{binary: true, text: data}
}

func newControl(t byte, data string) *Packet {
	b := make([]byte, 1+len(data))
	b[0] = t
	copy(b[1:], data)
	return &Packet{text: b}
}

// Shared control packets: they are immutable and can be queued on any connection.
var (
	pingPacket  = newControl(typePing, "")
	noopPacket  = newControl(typeNoop, "")
	closePacket = newControl(typeClose, "")
)

// rawFrame wraps a websocket control frame (pong, close) so it can be queued like a packet.
// Such a packet is never sent over long-polling.
func rawFrame(frame []byte) *Packet {
	p := &Packet{frame: frame, wsOnly: true}
	p.frameOnce.Do(func() {})
	return p
}

// IsBinary reports whether the packet is a binary message.
func (p *Packet) IsBinary() bool { return p.binary }

// wsFrame returns the websocket frame for the packet, built once.
func (p *Packet) wsFrame() []byte {
	p.frameOnce.Do(func() {
		op := opText
		if p.binary {
			op = opBinary
		}
		hdr := frameHeaderLen(len(p.text))
		buf := make([]byte, hdr+len(p.text))
		putFrameHeader(buf, op, len(p.text))
		copy(buf[hdr:], p.text)
		p.frame = buf
	})
	return p.frame
}

// pollingBytes returns the packet as it appears in a long-polling payload.
func (p *Packet) pollingBytes() []byte {
	if !p.binary {
		return p.text
	}
	p.b64Once.Do(func() {
		buf := make([]byte, 1+base64.StdEncoding.EncodedLen(len(p.text)))
		buf[0] = 'b'
		base64.StdEncoding.Encode(buf[1:], p.text)
		p.b64 = buf
	})
	return p.b64
}

// size is the number of bytes the packet occupies in a queue, for slow-consumer accounting.
func (p *Packet) size() int { return len(p.text) + 10 }

// inPacket is one decoded incoming packet.
type inPacket struct {
	typ    byte
	data   []byte
	binary bool
}

// decodeText decodes a text packet (websocket text frame or one polling record).
func decodeText(b []byte) (inPacket, error) {
	if len(b) == 0 {
		return inPacket{}, ErrInvalidPacket
	}
	if b[0] == 'b' {
		raw := make([]byte, base64.StdEncoding.DecodedLen(len(b)-1))
		n, err := base64.StdEncoding.Decode(raw, b[1:])
		if err != nil {
			return inPacket{}, ErrInvalidPacket
		}
		return inPacket{typ: typeMessage, data: raw[:n], binary: true}, nil
	}
	if b[0] < typeOpen || b[0] > typeNoop {
		return inPacket{}, ErrInvalidPacket
	}
	return inPacket{typ: b[0], data: b[1:]}, nil
}

// decodePayload splits a long-polling payload into packets. Any invalid record invalidates
// the whole payload.
func decodePayload(body []byte) ([]inPacket, error) {
	// The records are checked, then the slice is sized to their number: growing it by append
	// allocated ~5 times the final slice (about 100 bytes per byte of a body of one-byte
	// packets), and sizing it before the check would cost 40 bytes per separator of a body
	// that is rejected anyway.
	n := 0
	for rec := range bytes.SplitSeq(body, []byte{recordSeparator}) {
		if len(rec) == 0 || (rec[0] != 'b' && (rec[0] < typeOpen || rec[0] > typeNoop)) {
			return nil, ErrInvalidPacket
		}
		n++
	}
	out := make([]inPacket, 0, n)
	start := 0
	for i := 0; i <= len(body); i++ {
		if i < len(body) && body[i] != recordSeparator {
			continue
		}
		p, err := decodeText(body[start:i])
		if err != nil {
			return nil, err
		}
		out = append(out, p)
		start = i + 1
	}
	return out, nil
}

// WebSocket framing (RFC 6455) for server frames: never masked, never fragmented.
const (
	opText   byte = 0x1
	opBinary byte = 0x2
	opClose  byte = 0x8
	opPong   byte = 0xA
)

func frameHeaderLen(n int) int {
	switch {
	case n < 126:
		return 2
	case n < 1<<16:
		return 4
	default:
		return 10
	}
}

func putFrameHeader(b []byte, op byte, n int) {
	b[0] = 0x80 | op
	switch {
	case n < 126:
		b[1] = byte(n)
	case n < 1<<16:
		b[1] = 126
		b[2] = byte(n >> 8)
		b[3] = byte(n)
	default:
		b[1] = 127
		for i := 0; i < 8; i++ {
			b[9-i] = byte(uint64(n) >> (8 * i))
		}
	}
}

// controlFrame builds a websocket control frame (close, pong) with a payload of at most 125 bytes.
func controlFrame(op byte, payload []byte) []byte {
	if len(payload) > 125 {
		payload = payload[:125]
	}
	b := make([]byte, 2+len(payload))
	b[0] = 0x80 | op
	b[1] = byte(len(payload))
	copy(b[2:], payload)
	return b
}
