// Package triggers loads the YAML trigger file (every problem reported as FILE:LINE) and
// matches a successful mutating API call to the ID-only invalidation events it fires.
//
// Each event goes to one org. Its ID comes from the path placeholder named by the file's
// org_param (default {orgId}), from another placeholder (org: "{team}"), from a request
// header (org: header:NAME) or from the file (org: 7), and is read in the org ID format
// the file is loaded with (Options.IDs, package orgid): by exact text, or as a number.
package triggers
