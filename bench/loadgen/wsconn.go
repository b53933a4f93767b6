package loadgen

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Errors of the websocket client.
var (
	ErrHandshake = errors.New("loadgen: websocket handshake refused")
	ErrFrame     = errors.New("loadgen: bad websocket frame")
	ErrClosed    = errors.New("loadgen: connection closed by the server")
)

// maxFrame bounds one message from the server; the benchmark's messages are under 200 bytes.
const maxFrame = 1 << 20

// wsConn is a minimal RFC 6455 client: a hand-written upgrade request, then frames parsed
// straight off a bufio.Reader into a reused buffer. Only its reader goroutine uses it after
// setup, so it needs no locking.
type wsConn struct {
	nc   net.Conn
	br   *bufio.Reader
	buf  []byte // the current message (valid until the next read)
	mask [4]byte
	out  []byte // scratch for outgoing frames
}

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// dialWS opens a websocket to http://addr + target (path and query).
func dialWS(ctx context.Context, addr, target string) (*wsConn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("loadgen: dial %s: %w", addr, err)
	}
	c, err := handshakeWS(ctx, nc, addr, target)
	if err != nil {
		_ = nc.Close()
		return nil, err
	}
	return c, nil
}

func handshakeWS(ctx context.Context, nc net.Conn, addr, target string) (*wsConn, error) {
	var keyRaw [16]byte
	_, _ = rand.Read(keyRaw[:])
	key := base64.StdEncoding.EncodeToString(keyRaw[:])
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
		defer func() { _ = nc.SetDeadline(time.Time{}) }()
	}
	req := "GET " + target + " HTTP/1.1\r\nHost: " + addr +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
		"\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		return nil, fmt.Errorf("loadgen: send upgrade to %s: %w", addr, err)
	}
	br := bufio.NewReaderSize(nc, 4096)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, fmt.Errorf("loadgen: read upgrade answer from %s: %w", addr, err)
	}
	_ = resp.Body.Close()
	sum := sha1.Sum([]byte(key + wsGUID))
	if resp.StatusCode != http.StatusSwitchingProtocols ||
		resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		return nil, fmt.Errorf("%w: %s answered %s", ErrHandshake, addr, resp.Status)
	}
	c := &wsConn{nc: nc, br: br, buf: make([]byte, 0, 256)}
	_, _ = rand.Read(c.mask[:])
	return c, nil
}

// Opcodes.
const (
	opCont  = 0x0
	opText  = 0x1
	opBin   = 0x2
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xA
)

// readMessage returns the next data message (text or binary), answering pings on the way.
// The payload is valid until the next call.
func (c *wsConn) readMessage() (op byte, payload []byte, err error) {
	c.buf = c.buf[:0]
	msgOp := byte(0)
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.br, h[:]); err != nil {
			return 0, nil, err
		}
		fin, op := h[0]&0x80 != 0, h[0]&0x0f
		if h[1]&0x80 != 0 {
			return 0, nil, fmt.Errorf("%w: masked frame from server", ErrFrame)
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var ext [2]byte
			if _, err := io.ReadFull(c.br, ext[:]); err != nil {
				return 0, nil, err
			}
			n = uint64(binary.BigEndian.Uint16(ext[:]))
		case 127:
			var ext [8]byte
			if _, err := io.ReadFull(c.br, ext[:]); err != nil {
				return 0, nil, err
			}
			n = binary.BigEndian.Uint64(ext[:])
		}
		if n > maxFrame || uint64(len(c.buf))+n > maxFrame {
			return 0, nil, fmt.Errorf("%w: %d-byte frame", ErrFrame, n)
		}
		start := len(c.buf)
		c.buf = append(c.buf, make([]byte, n)...)
		if _, err := io.ReadFull(c.br, c.buf[start:]); err != nil {
			return 0, nil, err
		}
		switch op {
		case opPing:
			ping := append([]byte(nil), c.buf[start:]...)
			c.buf = c.buf[:start]
			if err := c.write(opPong, ping); err != nil {
				return 0, nil, err
			}
			continue
		case opPong:
			c.buf = c.buf[:start]
			continue
		case opClose:
			return 0, nil, ErrClosed
		case opText, opBin:
			msgOp = op
		case opCont:
		default:
			return 0, nil, fmt.Errorf("%w: opcode %d", ErrFrame, op)
		}
		if fin {
			return msgOp, c.buf, nil
		}
	}
}

// write sends one masked frame (clients must mask, RFC 6455 §5.3).
func (c *wsConn) write(op byte, payload []byte) error {
	b := c.out[:0]
	b = append(b, 0x80|op)
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, c.mask[:]...)
	for i, x := range payload {
		b = append(b, x^c.mask[i&3])
	}
	c.out = b
	if _, err := c.nc.Write(b); err != nil {
		return fmt.Errorf("loadgen: write frame: %w", err)
	}
	return nil
}

func (c *wsConn) writeText(s string) error { return c.write(opText, []byte(s)) }

func (c *wsConn) close() error { return c.nc.Close() }
