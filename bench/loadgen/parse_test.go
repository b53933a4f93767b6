package loadgen

import "testing"

func TestParseSeq(t *testing.T) {
	cases := []struct {
		in   string
		want int
		ok   bool
	}{
		{`42/org/1,["personview.addrow",{"personId":123,"viewId":1}]`, 123, true},
		{`42/org/1,["personview.addrow",{"viewId":1,"personId":7}]`, 7, true},
		{`42/org/1,["personview.addrow",{"viewId":1}]`, 0, false},
		{`42/org/1,["personview.addrow",{"personId":"x"}]`, 0, false},
		// A huge number must not overflow into a negative index: digits are capped.
		{`42/org/1,["e",{"personId":99999999999999999999999}]`, 9999999999, true},
	}
	for _, c := range cases {
		got, ok := parseSeq([]byte(c.in))
		if got != c.want || ok != c.ok {
			t.Errorf("parseSeq(%s) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestRecordIgnoresSequenceNumbersOutsideThePhase(t *testing.T) {
	f := NewFleet(Config{Addr: "127.0.0.1:1", Sockets: 1}, 10)
	s := f.sockets[0]
	f.Begin(3, 4) // seqs 3..6
	for _, seq := range []int{2, 3, 3, 6, 7, 9999999999} {
		s.record(seq, 1000)
	}
	st := f.Stats(map[int]int{1: 4})
	if st.Received != 2 || st.Dups != 1 || st.Strays != 3 || st.Lost != 2 {
		t.Fatalf("stats = %+v, want 2 received, 1 dup, 3 strays, 2 lost", st)
	}
}

func TestCentrifugoPushesAreRecordedAndPingsAnswered(t *testing.T) {
	f := NewFleet(Config{Addr: "127.0.0.1:1", Sockets: 1, Protocol: Centrifugo}, 10)
	s := f.sockets[0]
	f.Begin(1, 5)
	// Centrifugo batches several replies in one message, one per line.
	msg := []byte("{}\n" + `{"push":{"channel":"org:1","pub":{"data":{"event":"personview.addrow","viewId":1,"personId":3}}}}` + "\n" +
		`{"push":{"channel":"org:1","pub":{"data":{"viewId":1,"personId":4},"offset":2}}}`)
	if got := s.handle(msg); got != actPong {
		t.Fatalf("a message holding a ping: action %v, want a pong", got)
	}
	if string(s.pong()) != "{}" {
		t.Fatalf("pong = %q, want {}", s.pong())
	}
	if got := s.handle([]byte(`{"push":{"channel":"org:1","pub":{"data":{"personId":3}}}}`)); got != actNone {
		t.Fatalf("a push alone: action %v, want none", got)
	}
	st := f.Stats(map[int]int{1: 5})
	if st.Received != 2 || st.Dups != 1 || st.Lost != 3 {
		t.Fatalf("stats = %+v, want events 3 and 4 received once, 3 duplicated once", st)
	}
	if f.Config().Path != "/connection/websocket" {
		t.Fatalf("path = %q, want Centrifugo's websocket endpoint", f.Config().Path)
	}
}
