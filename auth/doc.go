// Package auth decides who may open a socket: an exact Origin allowlist, handshake credentials,
// and per-org membership checks against the upstream (cached, singleflight, fail closed, re-checked).
package auth
