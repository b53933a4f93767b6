// Package upstream is the benchmark's fake platform API: memberships per bearer token and a
// 200 answer for the row mutation that fires personview.addrow. syncbench serves it in a
// process of its own so that its CPU is counted neither for the server nor the generator.
package upstream
