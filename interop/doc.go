// Package interop holds interoperability tests of syncgate's own Socket.IO server (packages
// engineio and namespaces) against real clients: the official Node socket.io-client v4 and
// the Go client github.com/zishang520/socket.io/clients/socket/v3.
//
// The package has no code of its own; everything is in its _test.go files. Each test starts a
// namespaces.Server on a loopback listener (server_test.go) whose handlers echo, acknowledge,
// join rooms and refuse org 9 with data, and drives the clients through internal/testenv.
package interop
