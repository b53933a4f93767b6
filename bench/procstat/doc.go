// Package procstat reads a process's CPU time and resident memory from /proc, the one method
// the benchmark uses for every system under test and for the load generator itself.
package procstat
