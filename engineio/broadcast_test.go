package engineio

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestSharedPacketWritesIdenticalFrames: one *Packet sent to many connections is framed once
// and every receiver gets the very same bytes, for each of the three header sizes.
func TestSharedPacketWritesIdenticalFrames(t *testing.T) {
	const receivers = 20
	ts := startServer(t, Options{PingInterval: time.Hour}, nil)
	recs := make([]*recordingConn, receivers)
	wss := make([]*websocket.Conn, receivers)
	conns := make([]*Conn, receivers)
	for i := range wss {
		wss[i] = ts.dialWS(recordingDialer(&recs[i]), "EIO=4&transport=websocket", nil)
		readText(t, wss[i])
		conns[i] = ts.session().conn
	}
	for _, size := range []int{10, 300, 70_000} { // 7-bit, 16-bit and 64-bit lengths
		payload := bytes.Repeat([]byte{'a' + byte(size%26)}, size)
		p := NewMessage(payload)
		frame := p.wsFrame()
		for _, c := range conns {
			if err := c.Send(p); err != nil {
				t.Fatalf("Send: %v", err)
			}
		}
		for i, ws := range wss {
			if got := readText(t, ws); got != "4"+string(payload) {
				t.Fatalf("size %d, receiver %d: wrong message (%d bytes)", size, i, len(got))
			}
			if !bytes.Contains(recs[i].bytes(), frame) {
				t.Fatalf("size %d, receiver %d: the shared frame's bytes are not on the wire", size, i)
			}
		}
		if allocs := testing.AllocsPerRun(10, func() { p.wsFrame(); p.pollingBytes() }); allocs != 0 {
			t.Errorf("size %d: re-reading the encodings allocates %v times; they must be built once", size, allocs)
		}
	}
}

// TestBinaryPacketEncodedOnce: a binary packet's websocket frame and base64 form are built
// once and shared.
func TestBinaryPacketEncodedOnce(t *testing.T) {
	p := NewBinaryMessage([]byte{1, 2, 3, 4})
	f1, b1 := p.wsFrame(), p.pollingBytes()
	if allocs := testing.AllocsPerRun(10, func() { p.wsFrame(); p.pollingBytes() }); allocs != 0 {
		t.Errorf("re-reading allocates %v times", allocs)
	}
	if !bytes.Equal(f1, []byte{0x82, 4, 1, 2, 3, 4}) {
		t.Errorf("frame % x", f1)
	}
	if string(b1) != "bAQIDBA==" {
		t.Errorf("polling form %q", b1)
	}
	if f2 := p.wsFrame(); &f2[0] != &f1[0] {
		t.Error("the frame was rebuilt")
	}
}

// TestNewMessageFrameLayout checks the websocket header of each length class byte by byte.
func TestNewMessageFrameLayout(t *testing.T) {
	for _, tc := range []struct {
		n    int
		head []byte
	}{
		{124, []byte{0x81, 125}},
		{125, []byte{0x81, 126, 0, 126}},
		{65534, []byte{0x81, 126, 0xff, 0xff}},
		{65535, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			f := NewMessage(make([]byte, tc.n)).wsFrame()
			if !bytes.HasPrefix(f, tc.head) || len(f) != len(tc.head)+1+tc.n || f[len(tc.head)] != '4' {
				t.Fatalf("frame header % x (len %d), want % x then '4' and %d bytes", f[:len(tc.head)], len(f), tc.head, tc.n)
			}
		})
	}
}
