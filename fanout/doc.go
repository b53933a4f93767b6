// Package fanout holds syncgate's fan-out engines behind namespaces.Adapter; Cluster runs
// on a Redis Cluster and reads only the organizations this node has sockets in.
package fanout
