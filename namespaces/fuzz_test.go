package namespaces

import (
	"runtime"
	"strings"
	"testing"
)

// allocFactor bounds the bytes decodePacket + decodeArgs may allocate per input byte (plus
// a constant). Decoding JSON into []any (encoding/json) costs an interface, and often a
// value, per element, and grows its slices by append: about 55 bytes per byte for an array
// of zeros, 60 for nesting at the depth limit. Lower MaxPayload to shrink the absolute cost.
const allocFactor = 80

// TestEventPayloadMemoryAmplificationBounded: a client controls up to MaxPayload (1 MB) per
// message; decoding an event must not cost more than allocFactor times that in memory.
func TestEventPayloadMemoryAmplificationBounded(t *testing.T) {
	const n = 200_000
	for name, in := range map[string]string{
		"zeros":         `2["e"` + strings.Repeat(",0", n/2) + `]`,
		"empty objects": `2["e"` + strings.Repeat(",{}", n/3) + `]`,
		"empty arrays":  `2["e"` + strings.Repeat(",[]", n/3) + `]`,
		"empty strings": `2["e"` + strings.Repeat(`,""`, n/3) + `]`,
		"deep nesting":  `2["e",` + strings.Repeat("[", 9990) + strings.Repeat("]", 9990) + `]`,
		"placeholders":  `5256-["e"` + strings.Repeat(`,{"_placeholder":true,"num":0}`, n/30) + `]`,
		"acks":          `3/org/1,1[` + strings.Repeat("0,", n/2) + `0]`,
	} {
		b := []byte(in)
		limit := uint64(allocFactor*len(b) + 4096)
		alloc := minAlloc(limit, func() {
			p, err := decodePacket(b)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				return
			}
			bufs := make([][]byte, p.attachments)
			for i := range bufs {
				bufs[i] = []byte{1}
			}
			if _, err := decodeArgs(p.data, bufs); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		})
		if alloc > limit {
			t.Errorf("%s: %d bytes allocated for a %d-byte packet (%.0fx)", name, alloc, len(b), float64(alloc)/float64(len(b)))
		}
	}
}

// FuzzDecodePacket feeds arbitrary client packets to the decoder and the payload decoder: no
// panic, attachments within maxAttachments, a decoded packet re-encodes to an equivalent
// one, and memory stays a bounded multiple of the input.
func FuzzDecodePacket(f *testing.F) {
	for _, seed := range []string{
		"0", "0/custom,", `0{"token":"123"}`, `0/org/1,{"token":"abc"}`, "1", "1/org/1,",
		`2["message",1,"2",{"3":[true]}]`, `2456["message-with-ack",1,"2",{"3":[false]}]`,
		`52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
		`52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
		`62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
		`3/org/1,12["ok"]`, `2/org/1,["personview.addrow",{"viewId":2,"personId":3}]`,
		"4abc", "2{}", `2abc["x"]`, `5257-["x"]`, `59999-["x"]`, `2/org/1`, `2[]`, `2[1]`,
		`51-[{"_placeholder":true,"num":5}]`, `51-[{"_placeholder":true,"num":"0"}]`,
		`2[` + strings.Repeat("[", 50) + strings.Repeat("]", 50) + `]`, `2["e",{},{},{}]`,
		`3/org/1,1234567890123456["x"]`, `6-1["x"]`, `2/,["x"]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		limit := uint64(allocFactor*len(b) + 4096)
		var (
			p       packet
			err     error
			args    []any
			argsErr error
		)
		alloc := minAlloc(limit, func() { p, err = decodePacket(b) })
		if err == nil && (p.typ == pEvent || p.typ == pBinaryEvent || p.typ == pAck || p.typ == pBinaryAck) {
			// The attachments arrive as frames of their own; only the decoding is measured.
			bufs := make([][]byte, p.attachments)
			for i := range bufs {
				bufs[i] = []byte{byte(i)}
			}
			alloc += minAlloc(limit, func() { args, argsErr = decodeArgs(p.data, bufs) })
		}
		if alloc > limit {
			t.Fatalf("decoding %d bytes allocated %d bytes", len(b), alloc)
		}
		if err != nil {
			return
		}
		if p.attachments < 0 || p.attachments > maxAttachments {
			t.Fatalf("%d attachments accepted", p.attachments)
		}
		if p.attachments > 0 && p.typ != pBinaryEvent && p.typ != pBinaryAck {
			t.Fatalf("attachments on packet type %c", p.typ)
		}
		if !strings.HasPrefix(p.nsp, "/") || p.id < -1 {
			t.Fatalf("namespace %q, id %d", p.nsp, p.id)
		}
		if args == nil || argsErr != nil {
			return
		}
		if (p.typ == pEvent || p.typ == pBinaryEvent) && len(args) == 0 {
			t.Fatal("an event without a name was accepted")
		}
		// What the server would send back for these arguments must itself decode.
		typ := pEvent
		if p.typ == pAck || p.typ == pBinaryAck {
			typ = pAck
		}
		enc, err := encodeArgs(typ, p.nsp, p.id, args)
		if err != nil {
			t.Fatalf("re-encoding %v: %v", args, err)
		}
		q, err := decodePacket(enc.text)
		if err != nil && typ == pAck {
			t.Fatalf("re-encoded ack %q does not decode: %v", enc.text, err)
		}
		if err == nil && (q.nsp != p.nsp || q.id != p.id || q.attachments != len(enc.buffers)) {
			t.Fatalf("re-encoded %q decodes as nsp %q id %d attachments %d", enc.text, q.nsp, q.id, q.attachments)
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
