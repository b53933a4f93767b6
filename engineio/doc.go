// Package engineio is an Engine.IO v4 server: sessions, the server-driven heartbeat, the
// websocket and HTTP long-polling transports, and the upgrade from polling to websocket.
//
// A Server is an http.Handler mounted at the Engine.IO path (usually /socket.io/). For every
// new session it calls Options.OnOpen before any message of that session is read, so the
// layer above (package namespaces) never misses a packet. Messages reach the Listener in
// order, one at a time per session. Outgoing packets are immutable *Packet values that can be
// shared by any number of connections: a websocket frame is built once per packet and the
// same bytes are written to every socket by a per-connection writer that coalesces queued
// frames into one write. All exported methods of Server and Conn are safe for concurrent use.
//
// What one client can hold is bounded: a session keeps only its handshake's credential
// headers (Handshake); outgoing bytes, websocket pongs included, are capped by
// Options.MaxQueueBytes; a polling POST body must arrive within the heartbeat budget; and
// Options.AcquireSlot can cap the sessions of one client IP.
package engineio
