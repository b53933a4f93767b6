// Package adaptertest checks a namespaces.Adapter against what every fan-out engine must do,
// and records what an engine delivers through its hooks: for the engines' own tests.
package adaptertest
