//go:build race

package engineio

// raceEnabled: the race detector is on; its shadow memory inflates the RSS a test measures.
const raceEnabled = true
