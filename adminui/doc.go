// Package adminui lets the official Socket.IO Admin UI (@socket.io/admin-ui 0.5.x) inspect this
// node's sockets over its own namespace /admin, served on the admin listener; start at New.
package adminui
