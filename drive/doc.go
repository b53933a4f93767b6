// Package drive watches Google Drive files for many sockets with as few
// Google calls as possible: one change feed per user, one covering feed per
// file, and one quota-aware scheduler in front of every call.
//
// A Watcher verifies each watch with the watching user's own token
// (files.get), then follows per-user change feeds (changes.getStartPageToken,
// changes.list) and reports each new version of a watched file once per
// scope through Config.Changed. Feeds that are the only cover of some file
// are polled at an adaptive interval (MinInterval when active, growing to
// MaxInterval when idle); the other users' feeds are polled every
// RecheckInterval only, to see when they lose access. Every call goes
// through one scheduler: a global and a per-user token bucket, a cap on
// concurrent requests, and truncated exponential backoff with jitter on
// Google's rate-limit and server errors. A revoked grant ends the user's
// feed and reports each of its watches through Config.Lost.
//
// With Config.Redis, nodes share the work: each feed is polled by the one
// node holding its lease (with expiry, so a survivor takes over a dead
// node's feeds), its page token lives in Redis, its changes reach the other
// nodes over Pub/Sub, and a per-scope version claim makes exactly one node
// report each change. The package does not know sockets or namespaces:
// watchers and scopes are opaque strings of the caller.
package drive
