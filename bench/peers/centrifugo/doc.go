// Command centrifugo is the benchmark's Centrifugo peer: it starts a Centrifugo v6 server as
// its child and is the small relay a user of Centrifugo writes next to it to do syncgate's
// job:
//
//   - PUT /api/orgs/{o}/people/views/{v}/rows/{p} is forwarded to the upstream with the
//     caller's Authorization and, on a 2xx answer, personview.addrow {viewId, personId} is
//     published to channel "org:{o}" through Centrifugo's HTTP API (POST /api/publish) before
//     the answer goes back — the same order as the Node peer's emit;
//   - Centrifugo's connect proxy (POST /centrifugo/connect) checks the connection's
//     membership with the upstream's GET /users/me/memberships and the connection's own token
//     (connect data {"token","org"}), the check syncgate makes on a namespace CONNECT, and
//     answers with the org's channel as a server-side subscription.
//
// Centrifugo's websocket endpoint (/connection/websocket) listens on --ws-listen; the relay
// (the API and /healthz) on --listen. The relay's and Centrifugo's CPU together are the
// peer's CPU, as syncgate's proxy is part of syncgate's.
package main
