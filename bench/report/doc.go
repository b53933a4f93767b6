// Package report turns scenario results into the benchmark's Markdown (a table row per system
// and repetition, medians, ratios against the Node reference and the bare limit) and PNG charts.
package report
