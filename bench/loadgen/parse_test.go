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
