// Package scenario runs the benchmark's scenarios against one started system: fan-out (N
// sockets in one org, E events through the mutation endpoint at a fixed rate), idle memory
// (N idle sockets, RSS and heap per connection) and the in-process profile of syncgate.
package scenario
