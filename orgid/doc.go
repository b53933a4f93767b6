// Package orgid defines the organization IDs syncgate keys everything by: namespaces,
// memberships, triggers, Redis keys and the publish API all compare org IDs as this text.
package orgid
