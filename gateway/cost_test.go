package gateway_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/syncgate/syncgate/internal/testenv"
)

// Every socket of a user (tabs, reconnects) must not cost the upstream a membership call:
// 1,000 sockets of 100 users may make at most one call per user.
func TestThousandSocketsOfHundredUsersCostHundredMembershipCalls(t *testing.T) {
	const users, perUser = 100, 10
	api := testenv.NewFakeAPI(t)
	for u := range users {
		api.SetMemberships(fmt.Sprintf("user%d", u), testenv.Membership{Org: 1, Role: "organizer"})
	}
	// The TTL outlasts the test, so no re-check round adds calls.
	h := startGateway(t, api, pocTriggers(t), "--membership-ttl", "10m")
	n := testenv.StartNode(t)

	var wg sync.WaitGroup
	errs := make(chan error, users)
	for u := range users {
		wg.Go(func() {
			cred := fmt.Sprintf("user%d", u)
			res, err := n.ConnectMany(cred+"-", perUser, h.url("/org/1"), opts("websocket", cookie(cred)), perUser)
			switch {
			case err != nil:
				errs <- err
			case res.Connected != perUser:
				errs <- fmt.Errorf("%s: %+v", cred, res)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := h.g.Sockets().Namespace("/org/1").Len(); got != users*perUser {
		t.Fatalf("/org/1 has %d sockets, want %d", got, users*perUser)
	}
	if c := api.Calls("/users/me/memberships"); c != users {
		t.Fatalf("%d sockets of %d users made %d membership calls, want %d (one per user)", users*perUser, users, c, users)
	}
}
