// Package auth decides who may open a socket: an exact Origin allowlist, handshake credentials,
// and per-org membership checks against the upstream (cached, singleflight, fail closed, re-checked).
//
// The upstream's memberships endpoint is read in one of two modes: list mode (one call lists
// every membership of the caller; configurable dotted paths find the list, the org ID and the
// role) or per-org mode (the URL has {org}; one call per org, the status answers). An answer
// that does not fit the configured contract is "unavailable", counted, warned about once a
// minute with its shape (never its values), and reported by Contract; Diagnose runs one call
// for `syncgate doctor`.
package auth
