// Command bare is the benchmark's lower limit: a websocket broadcast server (gorilla/websocket
// for the upgrade and reads) speaking just enough Engine.IO/Socket.IO for syncbench's load
// generator. An event is framed once and the same bytes are written, by one writer goroutine
// per connection with writev, to every socket of the org; there is no proxy, no upstream call
// and no admission check.
package main
