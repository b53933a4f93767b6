package engineio

import (
	"bytes"
	"encoding/base64"
	"runtime"
	"testing"
)

// allocFactor bounds the bytes decodePayload may allocate per input byte (plus a constant).
// The worst case is a payload of one-byte packets ("6\x1e6\x1e…"): two input bytes make one
// 40-byte inPacket.
const allocFactor = 24

// TestPollingPayloadMemoryAmplificationBounded: a client controls up to MaxPayload (1 MB) of
// POST body per request; decoding it must not cost a hundred times that in memory.
func TestPollingPayloadMemoryAmplificationBounded(t *testing.T) {
	const size = 1_000_000
	for name, body := range map[string][]byte{
		"one-byte packets":     bytes.Repeat([]byte("6\x1e"), size/2),
		"empty binary packets": bytes.Repeat([]byte("b\x1e"), size/2),
		"short messages":       bytes.Repeat([]byte("4x\x1e"), size/3),
		"separators only":      bytes.Repeat([]byte("\x1e"), size),
		"one binary packet":    append([]byte("b"), bytes.Repeat([]byte("A"), size)...),
		"invalid last record":  append(bytes.Repeat([]byte("6\x1e"), size/2), 'x'),
	} {
		limit := uint64(allocFactor*len(body) + 1024)
		alloc := minAlloc(limit, func() { _, _ = decodePayload(body) })
		if alloc > limit {
			t.Errorf("%s: %d bytes allocated for a %d-byte body (%.0fx)", name, alloc, len(body), float64(alloc)/float64(len(body)))
		}
	}
}

// FuzzDecodePayload feeds arbitrary long-polling bodies to the decoder: it must never panic,
// never return more packets than records, return nothing with an error, and allocate at most
// a bounded multiple of its input.
func FuzzDecodePayload(f *testing.F) {
	for _, seed := range []string{
		"4hello", "4test1\x1e4test2\x1e4test3", "4hello\x1ebAQIDBA==", "2", "3", "1", "6",
		"2probe", "5", "0{}", "abc", "", "\x1e", "\x1e\x1e", "b", "b!!", "bAQ\nID", "4\x1e",
		"6\x1e6\x1e6\x1e6", "4é\x1e4\xff", "7", "b" + base64.StdEncoding.EncodeToString(make([]byte, 300)),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		records := bytes.Count(body, []byte{recordSeparator}) + 1
		var pkts []inPacket
		var err error
		limit := uint64(allocFactor*len(body) + 1024)
		if alloc := minAlloc(limit, func() { pkts, err = decodePayload(body) }); alloc > limit {
			t.Fatalf("decoding %d bytes allocated %d bytes", len(body), alloc)
		}
		if err != nil {
			if pkts != nil {
				t.Fatalf("error %v with %d packets", err, len(pkts))
			}
			return
		}
		if len(pkts) > records {
			t.Fatalf("%d packets from %d records", len(pkts), records)
		}
		// Each packet decodes the same on its own, and re-encoding them gives a payload
		// that decodes to the same packets.
		var again []byte
		for i, p := range pkts {
			if p.typ < typeOpen || p.typ > typeNoop || (p.binary && p.typ != typeMessage) {
				t.Fatalf("packet %d: type %q binary %v", i, p.typ, p.binary)
			}
			if i > 0 {
				again = append(again, recordSeparator)
			}
			if p.binary {
				again = append(again, 'b')
				again = base64.StdEncoding.AppendEncode(again, p.data)
			} else {
				again = append(again, p.typ)
				again = append(again, p.data...)
			}
		}
		pkts2, err := decodePayload(again)
		if err != nil || len(pkts2) != len(pkts) {
			t.Fatalf("re-encoded payload %q: %d packets, %v", again, len(pkts2), err)
		}
		for i := range pkts {
			if pkts[i].typ != pkts2[i].typ || pkts[i].binary != pkts2[i].binary || !bytes.Equal(pkts[i].data, pkts2[i].data) {
				t.Fatalf("packet %d changed on re-encoding", i)
			}
		}
	})
}

// FuzzDecodeText checks one websocket text frame: no panic, and a binary record yields at
// most 3/4 of its size.
func FuzzDecodeText(f *testing.F) {
	for _, seed := range []string{"4hello", "bAQIDBA==", "b", "2probe", "x", "", "6"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodeText(b)
		if err != nil {
			return
		}
		if len(p.data) > len(b) {
			t.Fatalf("%d bytes of data from a %d-byte frame", len(p.data), len(b))
		}
		if p.binary && len(p.data) > base64.StdEncoding.DecodedLen(len(b)-1) {
			t.Fatalf("binary data %d bytes from %d base64 bytes", len(p.data), len(b)-1)
		}
	})
}

// minAlloc returns the bytes f allocates. The process-wide counter also sees other
// goroutines (the fuzzing engine's), so a reading over limit is re-measured and the least
// kept: f's own allocations are the same every time, the noise is not.
func minAlloc(limit uint64, f func()) uint64 {
	var least uint64
	for i := 0; i < 5; i++ {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		if d := after.TotalAlloc - before.TotalAlloc; i == 0 || d < least {
			least = d
		}
		if least <= limit {
			break
		}
	}
	return least
}
