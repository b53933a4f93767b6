package namespaces_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syncgate/syncgate/namespaces"
	"github.com/syncgate/syncgate/namespaces/adaptertest"
)

// BenchmarkRoomBroadcast delivers one broadcast to room "r" of a namespace of 1,000 sockets
// (DeliverLocal: the fan-out without the adapter). Before this change every room broadcast
// collected its receivers into a new map.
func BenchmarkRoomBroadcast(b *testing.B) {
	f := adaptertest.NewSockets(b, 1, 1000, namespaces.Options{})
	bc := &namespaces.Broadcast{Nsp: "/org/0", Rooms: []string{"r"}, Event: "person.updated", Args: []any{map[string]any{"id": 42}}}
	if n := f.Server.DeliverLocal(bc); n != 1000 {
		b.Fatalf("delivered to %d sockets, want 1000", n)
	}
	frame := int64(2 + len(`42/org/0,["person.updated",{"id":42}]`)) // header + Engine.IO text
	f.Await(b, 1000*frame)
	b.ReportAllocs()
	b.ResetTimer()
	var inCall time.Duration // the caller's share: what a bus reader spends per broadcast
	for i := range b.N {
		t0 := time.Now()
		f.Server.DeliverLocal(bc) // the same encoded packet each time: the fan-out alone is measured
		inCall += time.Since(t0)
		f.Await(b, int64(i+2)*1000*frame)
	}
	b.ReportMetric(float64(inCall.Nanoseconds())/float64(b.N*1000), "caller-ns/delivery")
}

// BenchmarkMemoryAdapterParallel publishes, from every P, broadcasts to 8 namespaces of 50
// sockets each through the memory adapter with recovery on: the log and the fan-out of one
// namespace no longer hold the others up.
func BenchmarkMemoryAdapterParallel(b *testing.B) {
	const nsps = 8
	f := adaptertest.NewSockets(b, nsps, 50, namespaces.Options{RecoveryWindow: time.Minute})
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		nsp := fmt.Sprintf("/org/%d", next.Add(1)%nsps)
		for pb.Next() {
			_ = f.Server.Broadcast(&namespaces.Broadcast{Nsp: nsp, Event: "person.updated", Args: []any{map[string]any{"id": 42}}})
		}
	})
	b.StopTimer()
	time.Sleep(100 * time.Millisecond)
}
