package drive

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"
)

// Errors of Watch and List. Their messages are the ack codes of drive.watch.
var (
	ErrForbidden   = errors.New("forbidden")   // the token may not read Drive (no scope, revoked grant)
	ErrNotFound    = errors.New("not_found")   // no such file, or the user cannot read it (Google does not tell which)
	ErrUnavailable = errors.New("unavailable") // Google or the quota said "later"; the watcher is closed
	// ErrRevoked is wrapped (with ErrForbidden) when the user's Google
	// grant is revoked or expired.
	ErrRevoked = errors.New("drive: Google grant revoked or expired")

	ErrInvalidFileID = fmt.Errorf("%w: invalid file id", ErrNotFound)
	ErrTooManyFiles  = fmt.Errorf("%w: too many files watched by one watcher", ErrUnavailable)
	ErrClosed        = fmt.Errorf("%w: watcher closed", ErrUnavailable)
)

// Code returns the ack code of err: "forbidden", "not_found" or
// "unavailable" (for any other error too), "" for nil.
func Code(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrForbidden):
		return ErrForbidden.Error()
	case errors.Is(err, ErrNotFound):
		return ErrNotFound.Error()
	default:
		return ErrUnavailable.Error()
	}
}

// class is what an error of a Google call means for the scheduler.
type class int

const (
	classOK         class = iota
	classUserRate         // 403 userRateLimitExceeded: back off this user
	classGlobalRate       // 429, 403 rateLimitExceeded: back off everyone (project quota)
	classTransient        // 5xx, network, timeout: back off this user
	classRevoked          // 401, refused token refresh: the grant is gone
	classForbidden        // other 403: the token may not do this
	classNotFound         // 404
	classFatal            // other 4xx: a bad request, not worth repeating
	classCanceled         // the caller's context ended
)

func (c class) String() string {
	return [...]string{"ok", "user_rate", "global_rate", "transient", "revoked", "forbidden", "not_found", "fatal", "canceled"}[c]
}

// retryable reports whether the call may succeed later.
func (c class) retryable() bool {
	return c == classUserRate || c == classGlobalRate || c == classTransient
}

// classify sorts err of a call made under ctx.
func classify(ctx context.Context, err error, isRevoked func(error) bool) class {
	if err == nil {
		return classOK
	}
	if ctx.Err() != nil {
		return classCanceled
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return classifyAPI(ge)
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.ErrorCode == "invalid_grant" || re.Response != nil &&
			(re.Response.StatusCode == http.StatusBadRequest || re.Response.StatusCode == http.StatusUnauthorized) {
			return classRevoked
		}
		return classTransient
	}
	if isRevoked != nil && isRevoked(err) {
		return classRevoked
	}
	return classTransient // network errors, timeouts of one request
}

func classifyAPI(ge *googleapi.Error) class {
	reason := ""
	if len(ge.Errors) > 0 {
		reason = ge.Errors[0].Reason
	}
	switch {
	case ge.Code == http.StatusUnauthorized:
		return classRevoked
	case ge.Code == http.StatusTooManyRequests:
		return classGlobalRate
	case ge.Code == http.StatusForbidden && reason == "userRateLimitExceeded":
		return classUserRate
	case ge.Code == http.StatusForbidden && (reason == "rateLimitExceeded" || reason == "dailyLimitExceeded"):
		return classGlobalRate
	case ge.Code == http.StatusForbidden:
		return classForbidden
	case ge.Code == http.StatusNotFound:
		return classNotFound
	case ge.Code >= 500:
		return classTransient
	default:
		return classFatal
	}
}

// watchError maps the error of an access check to Watch's sentinels.
func watchError(c class, err error) error {
	switch c {
	case classRevoked:
		return fmt.Errorf("drive: %w: %w: %w", ErrForbidden, ErrRevoked, err)
	case classForbidden:
		return fmt.Errorf("drive: %w: %w", ErrForbidden, err)
	case classNotFound:
		return fmt.Errorf("drive: %w: %w", ErrNotFound, err)
	default:
		if errors.Is(err, ErrUnavailable) {
			return fmt.Errorf("drive: %w", err)
		}
		return fmt.Errorf("drive: %w: %w", ErrUnavailable, err)
	}
}
