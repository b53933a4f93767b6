// Package fakedrive is a fake Google Drive API v3 on 127.0.0.1 for tests:
// files with versions and per-user readers, files.get, files.list,
// changes.getStartPageToken and changes.list with small pages, bearer
// tokens per user that can be revoked, injectable 429/403/5xx answers, and
// call counters by endpoint and by user that tests assert on.
//
// The real google.golang.org/api/drive/v3 client talks to it unchanged
// when given option.WithEndpoint(s.Endpoint()) and an HTTP client that adds
// the bearer token. Error bodies have Google's JSON shape, so
// googleapi.Error carries the same Code and Errors[].Reason as in
// production. It is imported only from tests.
package fakedrive
