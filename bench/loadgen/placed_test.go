package loadgen

import "testing"

func TestPlacedFleetPutsSocketsWherePlaceSays(t *testing.T) {
	addrs := []string{"a:1", "b:2"}
	f := NewPlacedFleet(Config{Sockets: 8, Orgs: 4}, 10, func(i int) (string, int) {
		org := i%4 + 1
		return addrs[(org-1)%2], org
	})
	defer f.Close()
	for i := range 8 {
		if org, addr := f.OrgOfSocket(i), f.AddrOfSocket(i); org != i%4+1 || addr != addrs[(org-1)%2] {
			t.Errorf("socket %d: org %d on %s", i, org, addr)
		}
	}
	// Node a holds orgs 1 and 3: two sockets each; 5 events to org 1, 2 to org 2.
	st := f.StatsWhere(map[int]int{1: 5, 2: 2}, func(i int) bool { return f.AddrOfSocket(i) == "a:1" })
	if st.Sockets != 4 || st.Expected != 10 || st.Lost != 10 {
		t.Errorf("stats of node a: %+v", st)
	}
}
