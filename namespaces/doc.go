// Package namespaces is the Socket.IO v5 layer on top of package engineio: packets,
// namespaces matched by pattern with an admission hook, rooms, acks and broadcast.
//
// A Server owns the Engine.IO server. Handlers registered with Handle decide which namespace
// names exist (Handler.Match), who may join them (Handler.Admit, which may block on the
// network without holding up the connection's other namespaces or losing its packets) and
// what a socket does once admitted (Handler.OnConnect). A broadcast is encoded once per node
// and goes through an Adapter: MemoryAdapter (adapter_memory.go, the default) delivers on
// this node only; the engines that spread it over every node (one Redis, Redis Cluster)
// live in package fanout. Every adapter keeps the recent broadcasts of each namespace for
// connection state recovery (recovery.go); package adaptertest checks an adapter against
// that contract. All exported methods are safe for concurrent use. Start reading at Server.Handle and Server.Broadcast.
package namespaces
