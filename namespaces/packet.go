package namespaces

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Socket.IO v5 packet types.
const (
	pConnect      byte = '0'
	pDisconnect   byte = '1'
	pEvent        byte = '2'
	pAck          byte = '3'
	pConnectError byte = '4'
	pBinaryEvent  byte = '5'
	pBinaryAck    byte = '6'
)

// maxAttachments bounds the binary attachments one packet may announce, so a hostile header
// cannot make the server wait for or allocate without bound.
const maxAttachments = 256

// ErrBadPacket is returned by decodePacket for anything that is not a valid Socket.IO v5
// packet from a client.
var ErrBadPacket = errors.New("namespaces: invalid packet")

// packet is one decoded Socket.IO packet.
type packet struct {
	typ         byte
	nsp         string
	id          int64 // ack id, -1 when absent
	attachments int
	data        []byte // raw JSON, nil when absent
	buffers     [][]byte
}

// decodePacket parses the text part of a Socket.IO packet sent by a client.
func decodePacket(b []byte) (packet, error) {
	p := packet{id: -1, nsp: "/"}
	if len(b) == 0 || b[0] < pConnect || b[0] > pBinaryAck {
		return p, ErrBadPacket
	}
	p.typ = b[0]
	i := 1
	if p.typ == pBinaryEvent || p.typ == pBinaryAck {
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' && j-i < 4 {
			j++
		}
		if j == i || j >= len(b) || b[j] != '-' {
			return p, fmt.Errorf("%w: attachment count", ErrBadPacket)
		}
		n, _ := strconv.Atoi(string(b[i:j]))
		if n > maxAttachments {
			return p, fmt.Errorf("%w: %d attachments", ErrBadPacket, n)
		}
		p.attachments = n
		i = j + 1
	}
	if i < len(b) && b[i] == '/' {
		j := bytes.IndexByte(b[i:], ',')
		if j < 0 {
			p.nsp = string(b[i:])
			i = len(b)
		} else {
			p.nsp = string(b[i : i+j])
			i += j + 1
		}
	}
	if i < len(b) && b[i] >= '0' && b[i] <= '9' {
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j-i > 15 {
			return p, fmt.Errorf("%w: ack id too long", ErrBadPacket)
		}
		p.id, _ = strconv.ParseInt(string(b[i:j]), 10, 64)
		i = j
	}
	if i < len(b) {
		p.data = b[i:]
		if !json.Valid(p.data) {
			return p, fmt.Errorf("%w: payload is not JSON", ErrBadPacket)
		}
	}
	if !payloadValid(p) {
		return p, fmt.Errorf("%w: payload does not fit packet type %c", ErrBadPacket, p.typ)
	}
	return p, nil
}

// payloadValid applies the protocol's payload rules per packet type.
func payloadValid(p packet) bool {
	first := firstByte(p.data)
	switch p.typ {
	case pConnect:
		return p.data == nil || first == '{'
	case pDisconnect:
		return p.data == nil
	case pEvent, pBinaryEvent:
		if first != '[' {
			return false
		}
		// p.data is valid JSON (checked by the caller) and opens an array, so its first
		// element starts at the first non-blank byte after '[' (']' when empty). Read it in
		// place: unmarshalling every element just to look at one cost ~60 bytes per byte.
		c := firstByte(p.data[bytes.IndexByte(p.data, '[')+1:])
		return c == '"' || (c >= '0' && c <= '9') || c == '-'
	case pAck, pBinaryAck:
		return p.id >= 0 && first == '['
	default: // CONNECT_ERROR is never sent by a client
		return false
	}
}

func firstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c
	}
	return 0
}

// encodePacket writes a Socket.IO packet in its text form. data is raw JSON or nil.
func encodePacket(typ byte, nsp string, id int64, attachments int, data []byte) []byte {
	b := make([]byte, 0, 16+len(nsp)+len(data))
	b = append(b, typ)
	if attachments > 0 {
		b = strconv.AppendInt(b, int64(attachments), 10)
		b = append(b, '-')
	}
	if nsp != "/" {
		b = append(b, nsp...)
		b = append(b, ',')
	}
	if id >= 0 {
		b = strconv.AppendInt(b, id, 10)
	}
	return append(b, data...)
}

// placeholder stands for a binary attachment inside the JSON of a binary packet.
type placeholder struct {
	Placeholder bool `json:"_placeholder"`
	Num         int  `json:"num"`
}

// deconstruct replaces every []byte inside v (walking []any and map[string]any) with a
// placeholder and returns the attachments in order.
func deconstruct(v any, bufs *[][]byte) any {
	switch t := v.(type) {
	case []byte:
		*bufs = append(*bufs, t)
		return placeholder{true, len(*bufs) - 1}
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deconstruct(e, bufs)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = deconstruct(e, bufs)
		}
		return out
	default:
		return v
	}
}

// reconstruct replaces placeholders in a decoded JSON value with their attachments. A
// placeholder pointing outside bufs is an error.
func reconstruct(v any, bufs [][]byte) (any, error) {
	switch t := v.(type) {
	case []any:
		for i, e := range t {
			r, err := reconstruct(e, bufs)
			if err != nil {
				return nil, err
			}
			t[i] = r
		}
		return t, nil
	case map[string]any:
		if ph, ok := t["_placeholder"].(bool); ok && ph {
			n, ok := t["num"].(json.Number)
			if !ok {
				return nil, fmt.Errorf("%w: placeholder without num", ErrBadPacket)
			}
			i, err := n.Int64()
			if err != nil || i < 0 || int(i) >= len(bufs) {
				return nil, fmt.Errorf("%w: placeholder %s out of range", ErrBadPacket, n)
			}
			return bufs[i], nil
		}
		for k, e := range t {
			r, err := reconstruct(e, bufs)
			if err != nil {
				return nil, err
			}
			t[k] = r
		}
		return t, nil
	default:
		return v, nil
	}
}

// decodeArgs decodes an EVENT or ACK payload array, numbers kept exact, attachments restored.
func decodeArgs(data []byte, bufs [][]byte) ([]any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var args []any
	if err := d.Decode(&args); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadPacket, err)
	}
	if len(bufs) > 0 {
		for i, a := range args {
			r, err := reconstruct(a, bufs)
			if err != nil {
				return nil, err
			}
			args[i] = r
		}
	}
	return args, nil
}

// encoded is a Socket.IO packet ready for Engine.IO: the text part and its attachments.
type encoded struct {
	text    []byte
	buffers [][]byte
}

// encodeArgs encodes an EVENT (ack < 0 on an emit) or ACK packet whose payload is args.
func encodeArgs(typ byte, nsp string, id int64, args []any) (encoded, error) {
	if args == nil {
		args = []any{} // an ack with no arguments is "[]", never "null"
	}
	var bufs [][]byte
	payload := args
	if HasBinary(args) {
		payload = deconstruct(args, &bufs).([]any)
		switch typ {
		case pEvent:
			typ = pBinaryEvent
		case pAck:
			typ = pBinaryAck
		}
	}
	data, err := json.Marshal(payload)
	if err != nil {
		return encoded{}, fmt.Errorf("namespaces: encode payload: %w", err)
	}
	return encoded{text: encodePacket(typ, nsp, id, len(bufs), data), buffers: bufs}, nil
}

// HasBinary reports whether v holds a []byte (at any depth in slices and maps): such a
// packet needs binary attachments, which engines with a JSON wire format cannot carry.
func HasBinary(v any) bool {
	switch t := v.(type) {
	case []byte:
		return true
	case []any:
		for _, e := range t {
			if HasBinary(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range t {
			if HasBinary(e) {
				return true
			}
		}
	}
	return false
}
