package fanout_test

import (
	"context"
	"slices"
	"testing"

	"github.com/syncgate/syncgate/fanout"
	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/namespaces"
	"github.com/syncgate/syncgate/namespaces/adaptertest"
)

// Org IDs are text now ([A-Za-z0-9_-]{1,64}, any namespace prefix): each namespace has its
// own recovery log key, whole (no prefix of another's), behind the {sg} hash tag, so org
// "a" never sees or recovers what was sent to org "a-b", "a_b" or "A", nor "/team/a" what
// was sent to "/org/a".
func TestRedisRecoveryLogsOfTextNamespacesNeverMix(t *testing.T) {
	r := testenv.StartRedis(t)
	a := newRedisAdapter(t, r.URL(), fanout.RedisOptions{}, &adaptertest.HookLog{}, true)
	nsps := []string{"/team/a", "/team/a-b", "/team/a_b", "/team/A", "/org/a", "/team/550e8400-e29b-41d4-a716-446655440000"}
	first := map[string]*namespaces.Broadcast{}
	second := map[string]*namespaces.Broadcast{}
	for _, nsp := range nsps {
		first[nsp] = adaptertest.PublishTo(t, a, nsp, "first", map[string]any{"nsp": nsp})
	}
	for _, nsp := range nsps {
		second[nsp] = adaptertest.PublishTo(t, a, nsp, "second", map[string]any{"nsp": nsp})
	}
	ctx := context.Background()
	for _, nsp := range nsps {
		missed, complete, err := a.Missed(ctx, nsp, first[nsp].Offset)
		if err != nil || !complete {
			t.Fatalf("Missed(%s) = complete %v, err %v", nsp, complete, err)
		}
		if len(missed) != 1 || missed[0].Offset != second[nsp].Offset || adaptertest.WireOf(missed[0]) != adaptertest.WireOf(second[nsp]) {
			t.Fatalf("Missed(%s) after its first event = %d broadcasts (%v), want only its own second", nsp, len(missed), missed)
		}
	}
	keys, err := redisAdmin(t, r).Keys(ctx, "syncgate:{sg}:log:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	want := make([]string, len(nsps))
	for i, nsp := range nsps {
		want[i] = "syncgate:{sg}:log:" + nsp
	}
	slices.Sort(keys)
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Fatalf("log keys %q, want one per namespace %q", keys, want)
	}
}
