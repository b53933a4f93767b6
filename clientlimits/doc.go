// Package clientlimits bounds what one client can hold or spend at the gateway: the client IP
// of a request (peer address, or X-Forwarded-For behind trusted proxies), per-IP connection slots.
package clientlimits
