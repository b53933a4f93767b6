// Package openapi reads an OpenAPI 3.0/3.1 document's mutating operations and compares them
// with trigger files: it drafts and merges triggers, checks coverage, and replays access logs.
package openapi
