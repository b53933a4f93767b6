// Package proxy forwards every call under the API prefix to the upstream API and,
// after a successful (2xx) mutation, publishes the ID-only events its triggers fire.
package proxy
