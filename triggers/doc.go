// Package triggers loads the YAML trigger file (every problem reported as FILE:LINE) and
// matches a successful mutating API call to the ID-only invalidation events it fires.
package triggers
