// Package examples holds example configurations, embedded so that the binary and tests can
// use them: zetkin-poc.yaml has the Zetkin PoC's events; workspaces.* and teams.* configure
// syncgate for two APIs shaped unlike Zetkin's (environment file + trigger file each).
package examples

import "embed"

// Files holds every example trigger file (*.yaml) at its base name.
//
//go:embed *.yaml
var Files embed.FS

// ZetkinPoC returns the content of zetkin-poc.yaml.
func ZetkinPoC() []byte {
	data, err := Files.ReadFile("zetkin-poc.yaml")
	if err != nil {
		panic("examples: zetkin-poc.yaml is not embedded: " + err.Error()) // a build defect, not a runtime condition
	}
	return data
}
