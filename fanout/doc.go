// Package fanout holds syncgate's engines that carry broadcasts between nodes, behind
// namespaces.Adapter: Redis (one Redis or a Sentinel primary: one bus every node reads) and
// Cluster (a Redis Cluster: each node reads only the organizations it has sockets in).
package fanout
