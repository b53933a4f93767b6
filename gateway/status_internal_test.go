package gateway

import (
	"fmt"
	"testing"
)

// A node with more orgs than the page lists shows the busiest first and counts the rest.
func TestCapOrgsKeepsTheBusiestAndCountsTheRest(t *testing.T) {
	var orgs []OrgSockets
	for i := range 250 {
		orgs = append(orgs, OrgSockets{Org: fmt.Sprint(i), Namespace: fmt.Sprintf("/org/%03d", i), Sockets: i % 7})
	}
	got, more := capOrgs(orgs, maxStatusOrgs)
	if len(got) != maxStatusOrgs || more != 150 {
		t.Fatalf("%d listed, %d not listed; want %d and 150", len(got), more, maxStatusOrgs)
	}
	for i := 1; i < len(got); i++ {
		a, b := got[i-1], got[i]
		if a.Sockets < b.Sockets || (a.Sockets == b.Sockets && a.Namespace > b.Namespace) {
			t.Fatalf("not busiest first at %d: %+v then %+v", i, a, b)
		}
	}
	if got[0].Sockets != 6 || got[len(got)-1].Sockets < 4 {
		t.Fatalf("first %+v, last %+v", got[0], got[len(got)-1])
	}
	if got, more := capOrgs(nil, maxStatusOrgs); got == nil || len(got) != 0 || more != 0 {
		t.Fatalf("no orgs: %v %d (want an empty list, not null)", got, more)
	}
}
