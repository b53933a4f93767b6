package interop

import (
	"encoding/json"
	"testing"

	"github.com/syncgate/syncgate/internal/testenv"
)

// TestNodeThreeNamespacesOneConnection: three org namespaces multiplexed on one Engine.IO
// connection (one Manager) each work on their own; a refused fourth one (connect_error with
// message and data) and the departure of one of them leave the others alone.
func TestNodeThreeNamespacesOneConnection(t *testing.T) {
	for _, tr := range allTransports {
		t.Run(tr, func(t *testing.T) {
			ts := startServer(t, serverConfig{})
			node := testenv.StartNode(t)
			srv := ts.server()
			opts := only(tr, map[string]any{testenv.OptManager: "shared"})
			orgs := []string{"1", "2", "3"}
			sids := map[string]string{}
			for _, org := range orgs {
				sids[org] = connect(t, node, "o"+org, ts.orgURL(org), opts).Sid
				ts.socket(t, sids[org])
			}
			if n := srv.Engine().Count(); n != 1 {
				t.Fatalf("server has %d Engine.IO sessions for three namespaces of one manager, want 1", n)
			}

			ce, err := node.ConnectErr("o"+refusedOrg, ts.orgURL(refusedOrg), opts)
			if err != nil {
				t.Fatal(err)
			}
			if ce.Message != "forbidden" {
				t.Fatalf("refusal message %q, want %q", ce.Message, "forbidden")
			}
			assertJSON(t, "refusal data", json.RawMessage(ce.Data), map[string]any{"org": refusedOrg, "reason": "not a member"})
			if n := srv.Engine().Count(); n != 1 {
				t.Fatalf("server has %d Engine.IO sessions after the refusal, want 1", n)
			}
			if srv.Namespace("/org/"+refusedOrg) != nil {
				t.Fatal("the refused namespace exists on the server")
			}

			for _, org := range orgs {
				ack, err := node.EmitAck("o"+org, 0, "whoami")
				if err != nil {
					t.Fatal(err)
				}
				assertJSON(t, "whoami of o"+org, ack, []any{"/org/" + org, sids[org]})
				if n := nsLen(srv, "/org/"+org); n != 1 {
					t.Fatalf("/org/%s holds %d sockets, want 1", org, n)
				}
			}

			// A broadcast to /org/2 reaches o2 only; waitEvent fails on anything received
			// before the awaited event.
			if err := srv.Emit("/org/2", "only.two", 2); err != nil {
				t.Fatal(err)
			}
			for _, org := range orgs {
				if err := srv.Emit("/org/"+org, "marker", org); err != nil {
					t.Fatal(err)
				}
			}
			waitEvent(t, node, "o2", "only.two")
			for _, org := range orgs {
				ev := waitEvent(t, node, "o"+org, "marker")
				assertJSON(t, "marker of o"+org, ev.Args, []any{org})
			}

			// o2 leaves its namespace; the connection and the other two stay.
			node.Close("o2")
			if reason := ts.gone(t, sids["2"]); reason != "client namespace disconnect" {
				t.Fatalf("o2 left with %q, want %q", reason, "client namespace disconnect")
			}
			for _, org := range []string{"1", "3"} {
				ack, err := node.EmitAck("o"+org, 0, "echo", "still", org)
				if err != nil {
					t.Fatal(err)
				}
				assertJSON(t, "echo of o"+org, ack, []any{"still", org})
			}
			if n := srv.Engine().Count(); n != 1 {
				t.Fatalf("server has %d Engine.IO sessions after o2 left, want 1", n)
			}
			if srv.Namespace("/org/2") != nil {
				t.Fatal("/org/2 still exists with no socket")
			}
		})
	}
}
