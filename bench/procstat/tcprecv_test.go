package procstat

import (
	"bufio"
	"net"
	"os"
	"testing"
	"time"
)

func TestParseSSAttributesBytesToProcessAndConnection(t *testing.T) {
	out := "0      0      127.0.0.1:43762 127.0.0.1:36999 users:((\"syncgate\",pid=10581,fd=3))\n" +
		"\t bbr wscale:10,10 rto:204 bytes_sent:26 bytes_acked:27 bytes_received:71 segs_out:5\n" +
		"0      0      127.0.0.1:43770 127.0.0.1:36999 users:((\"syncgate\",pid=10581,fd=9))\n" +
		"\t bbr wscale:10,10 rto:204 bytes_sent:26\n" + // nothing received yet
		"0      0      127.0.0.1:43780 127.0.0.1:7001 users:((\"other\",pid=22,fd=4))\n" +
		"\t cubic bytes_received:1000000 segs_in:9\n"
	got, err := parseSS([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if got[10581]["127.0.0.1:43762"] != 71 || len(got[10581]) != 1 || got[22]["127.0.0.1:43780"] != 1000000 {
		t.Fatalf("parsed %v", got)
	}
}

// A real connection: the meter sees this process receive what a loopback server sends it.
func TestTCPMeterCountsBytesFromThePeerPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sent, done := make(chan error, 1), make(chan struct{})
	defer close(done)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			sent <- err
			return
		}
		defer c.Close()
		defer func() { <-done }() // open until measured: ss counts established connections
		_, _ = bufio.NewReader(c).ReadString('\n')
		_, err = c.Write(make([]byte, 5000))
		sent <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := NewTCPMeter([]int{ln.Addr().(*net.TCPAddr).Port})
	if err := m.Start(); err != nil {
		t.Fatalf("%v (./scripts/test.sh installs Debian's iproute2)", err)
	}
	if _, err := c.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5000)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for n := 0; n < len(buf); {
		k, err := c.Read(buf[n:])
		if err != nil {
			t.Fatal(err)
		}
		n += k
	}
	if err := m.Sample(); err != nil {
		t.Fatal(err)
	}
	if got := m.Received(os.Getpid()); got != 5000 {
		t.Fatalf("received %d bytes from the peer, want 5000", got)
	}
}
