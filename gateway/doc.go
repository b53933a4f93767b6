// Package gateway wires one syncgate node: configuration (one typed struct from flags and
// their SYNCGATE_* environment twins), the API proxy, triggers, and the Socket.IO server.
//
// Read it in the order of one event: Gateway.Handler routes /api/* to package proxy, whose
// fired triggers come back through Gateway.Publish into the org namespace; a socket joining
// /org/N passes Gateway.admit (membership upstream) and is watched for revocation.
package gateway
