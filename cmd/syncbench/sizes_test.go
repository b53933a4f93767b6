package main

import "testing"

func TestParseSizes(t *testing.T) {
	got, err := parseSizes("1000x1000@500, 10000x10@0,5x6")
	if err != nil {
		t.Fatal(err)
	}
	want := []fanoutSize{{1000, 1000, 500}, {10000, 10, 0}, {5, 6, 0}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("size %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"1000", "x10@5", "10x10@-1", "0x10", "10x10@fast"} {
		if _, err := parseSizes(bad); err == nil {
			t.Errorf("parseSizes(%q) accepted", bad)
		}
	}
}
