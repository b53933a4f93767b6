package soak

import (
	"strings"
	"testing"
)

// TestLedgerJudge feeds the ledger a hand-written history and checks each classification:
// delivered, covered by resync, covered by a fresh reconnect, lost, duplicate, wrong org,
// wrong room, not expected before the first connect, after a close, or outside the room.
func TestLedgerJudge(t *testing.T) {
	l := NewLedger()
	lines := []string{
		`["new","a",1,2,"websocket",0]`, `["conn","a",10,0,false,"s1"]`, `["sub","a",11,2,true]`,
		`["new","b",1,0,"polling",0]`, `["conn","b",10,1,false,"s2"]`,
		`["new","c",1,0,"websocket",0]`, `["conn","c",10,0,false,"s3"]`,
		`["new","d",2,0,"websocket",0]`, `["conn","d",10,0,false,"s4"]`,
		`["new","late",1,0,"websocket",0]`, `["conn","late",150,0,false,"s5"]`,
		`["new","gone",1,0,"websocket",0]`, `["conn","gone",10,0,false,"s6"]`, `["close","gone",120]`,
		// a: gets 1 and 2; misses 3 (lost); recovered reconnect at 400 does not cover.
		`["ev","a",101,"personview.addrow",1,1]`, `["ev","a",201,"view.row.updated",2,2]`,
		`["disc","a",300,"transport close"]`, `["conn","a",400,1,true,"s1"]`,
		// b: gets 1 twice (duplicate); a resync at 350 covers 3; gets 2 though not in view:2.
		`["ev","b",101,"personview.addrow",1,1]`, `["ev","b",102,"personview.addrow",1,1]`,
		`["ev","b",201,"view.row.updated",2,2]`, `["resync","b",350,"node lost"]`,
		// c: fresh reconnect at 360 covers 3; gets org 2's event 4 (wrong org).
		`["ev","c",101,"personview.addrow",1,1]`, `["conn","c",360,1,false,"s7"]`, `["ev","c",501,"personview.addrow",4,1]`,
		// d (org 2) gets 4.
		`["ev","d",501,"personview.addrow",4,1]`,
		`["final","a",true]`, `["final","b",true]`, `["final","c",false]`, `["final","d",true]`, `["final","late",true]`,
		`["ce","a",600,610,1000000000001,true]`, `["ev","b",611,"user.typing",1000000000001,1]`,
		`["done"]`,
	}
	for _, s := range lines {
		if !l.Line([]byte(s)) {
			t.Fatalf("line not read: %s", s)
		}
	}
	l.AddMutation(Mutation{ID: 1, Org: 1, View: 1, Sent: 100, Resp: 105, Status: 200})
	l.AddMutation(Mutation{ID: 2, Org: 1, View: 2, Room: true, Sent: 200, Resp: 205, Status: 200})
	l.AddMutation(Mutation{ID: 3, Org: 1, View: 1, Sent: 300, Resp: 305, Status: 200})
	l.AddMutation(Mutation{ID: 4, Org: 2, View: 1, Sent: 500, Resp: 505, Status: 200})
	l.AddMutation(Mutation{ID: 5, Org: 1, View: 1, Sent: 550, Status: 502})
	v := l.Judge([]Phase{{Name: "steady"}, {Name: "after fault", Start: 250}}, 3, 100)

	// Mutation 1: a, b, c, gone expected (late connected after it; gone closed at 120 > 105+3):
	// 3 delivered + gone lost. Mutation 2 (view:2): only a. Mutation 3: a lost, b, c covered
	// (gone closed, late connected at 150 < 300: late lost too). Mutation 4: d delivered.
	// Client event: b, c, late expected (not a, the sender; not gone): b delivered, c covered
	// (fresh reconnect 360 < 600? no: c is lost), late lost.
	steady, after := v.Trigger[0], v.Trigger[1]
	if steady.Expected != 5 || steady.Delivered != 4 || steady.Lost != 1 || steady.Duplicates != 1 || steady.WrongRoom != 1 {
		t.Errorf("steady phase = %+v", steady)
	}
	if after.Mutations != 3 || after.OK != 2 || after.Expected != 5 || after.Delivered != 1 || after.Covered != 2 ||
		after.Lost != 2 || after.WrongOrg != 1 {
		t.Errorf("after phase = %+v", after)
	}
	ce := v.Client[1]
	if ce.Expected != 3 || ce.Delivered != 1 || ce.Lost != 2 {
		t.Errorf("client events = %+v", ce)
	}
	if len(v.Stuck) != 1 || v.Stuck[0] != "c" {
		t.Errorf("stuck = %v, want [c]", v.Stuck)
	}
	if !v.Failed() {
		t.Error("a ledger with lost events passed")
	}
	var sb strings.Builder
	v.WriteLost(&sb, 50, 0, []Fault{{Name: "x", At: 250, Done: 260}})
	if !strings.Contains(sb.String(), "socket gone") || !strings.Contains(sb.String(), "conn@0.400s node1 recovered=true") {
		t.Errorf("lost report lacks the socket history:\n%s", sb.String())
	}
}

// TestLedgerCoverWindow: a resync covers a missing event only within the window; a later
// one leaves it LOST with a note saying how late the cover came.
func TestLedgerCoverWindow(t *testing.T) {
	l := NewLedger()
	for _, s := range []string{
		`["new","a",1,0,"websocket",0]`, `["conn","a",10,0,false,"s1"]`,
		`["resync","a",1150,"node lost"]`, `["resync","a",5000,"redis reconnected"]`, `["final","a",true]`,
	} {
		if !l.Line([]byte(s)) {
			t.Fatalf("line not read: %s", s)
		}
	}
	l.AddMutation(Mutation{ID: 1, Org: 1, Sent: 1000, Resp: 1005, Status: 200}) // covered 150 ms later
	l.AddMutation(Mutation{ID: 2, Org: 1, Sent: 2000, Resp: 2005, Status: 200}) // covered 3 s later: too late
	v := l.Judge([]Phase{{Name: "all"}}, 3, 1000)
	if got := v.Trigger[0]; got.Expected != 2 || got.Covered != 1 || got.Lost != 1 {
		t.Fatalf("tally = %+v, want 1 covered and 1 lost", got)
	}
	if v.CoverMax != 150 {
		t.Errorf("longest cover delay = %d ms, want 150", v.CoverMax)
	}
	if len(v.Lost) != 1 || !strings.Contains(v.Lost[0].Note, "covered only 3.000s later (resync redis reconnected)") {
		t.Errorf("lost = %+v", v.Lost)
	}
}

// TestLedgerRedundantAfterResync: a second copy with a resync or an unrecovered reconnect
// in between is redundant (the client was told to start over), not a duplicate; one with
// neither in between breaks at-most-once and fails the run.
func TestLedgerRedundantAfterResync(t *testing.T) {
	l := NewLedger()
	for _, s := range []string{
		`["new","a",1,0,"websocket",0]`, `["conn","a",10,0,false,"s1"]`,
		`["ev","a",1010,"personview.addrow",1,0]`, `["resync","a",1100,"recovery failed"]`, `["ev","a",1200,"personview.addrow",1,0]`,
		`["ev","a",2010,"personview.addrow",2,0]`, `["conn","a",2100,1,false,"s2"]`, `["ev","a",2200,"personview.addrow",2,0]`,
		`["ev","a",3010,"personview.addrow",3,0]`, `["conn","a",3100,1,true,"s2"]`, `["ev","a",3200,"personview.addrow",3,0]`,
		`["final","a",true]`,
	} {
		if !l.Line([]byte(s)) {
			t.Fatalf("line not read: %s", s)
		}
	}
	for id := int64(1); id <= 3; id++ {
		l.AddMutation(Mutation{ID: id, Org: 1, Sent: id*1000 + 5, Resp: id*1000 + 8, Status: 200})
	}
	v := l.Judge([]Phase{{Name: "all"}}, 3, 1000)
	if got := v.Trigger[0]; got.Delivered != 3 || got.Redundant != 2 || got.Duplicates != 1 {
		t.Fatalf("tally = %+v, want 3 delivered, 2 redundant (after a resync, after a fresh reconnect), 1 duplicate (after a recovered one)", got)
	}
	if !v.Failed() {
		t.Fatal("a duplicate across a recovered reconnect did not fail the run")
	}
}
