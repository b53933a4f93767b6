package fakedrive

import (
	"encoding/json"
	"net/http"
)

// apiError is Google's JSON error body: {"error": {...}}.
type apiError struct {
	Code    int         `json:"code"`
	Message string      `json:"message"`
	Errors  []errorItem `json:"errors"`
	Status  string      `json:"status,omitempty"`
}

type errorItem struct {
	Domain       string `json:"domain"`
	Reason       string `json:"reason"`
	Message      string `json:"message"`
	Location     string `json:"location,omitempty"`
	LocationType string `json:"locationType,omitempty"`
}

func (e *apiError) write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(e.Code)
	_ = json.NewEncoder(w).Encode(map[string]*apiError{"error": e})
}

// errAuth is Google's answer to a missing, invalid or revoked token.
func errAuth() *apiError {
	return &apiError{
		Code:    http.StatusUnauthorized,
		Message: "Request had invalid authentication credentials.",
		Errors: []errorItem{{Domain: "global", Reason: "authError", Message: "Invalid Credentials",
			Location: "Authorization", LocationType: "header"}},
		Status: "UNAUTHENTICATED",
	}
}

// errScope is Google's answer to a token without a Drive scope.
func errScope() *apiError {
	return &apiError{
		Code:    http.StatusForbidden,
		Message: "Request had insufficient authentication scopes.",
		Errors:  []errorItem{{Domain: "global", Reason: "insufficientPermissions", Message: "Insufficient Permission"}},
		Status:  "PERMISSION_DENIED",
	}
}

// errNotFound is Google's answer for a file that does not exist or that the
// caller cannot read: the two are indistinguishable on purpose.
func errNotFound(id string) *apiError {
	msg := "File not found: " + id + "."
	return &apiError{
		Code:    http.StatusNotFound,
		Message: msg,
		Errors:  []errorItem{{Domain: "global", Reason: "notFound", Message: msg, Location: "fileId", LocationType: "parameter"}},
	}
}

// errInvalid is Google's answer to a bad parameter value.
func errInvalid(param string) *apiError {
	return &apiError{
		Code:    http.StatusBadRequest,
		Message: "Invalid Value",
		Errors:  []errorItem{{Domain: "global", Reason: "invalid", Message: "Invalid Value", Location: param, LocationType: "parameter"}},
	}
}

// Reasons of injectable faults, as Google spells them.
const (
	ReasonUserRateLimit = "userRateLimitExceeded" // 403: per-user quota
	ReasonRateLimit     = "rateLimitExceeded"     // 403 or 429: project quota
	ReasonBackendError  = "backendError"          // 5xx
)

// faultError builds the body of an injected failure.
func faultError(status int, reason string) *apiError {
	if reason == "" {
		switch {
		case status == http.StatusTooManyRequests:
			reason = ReasonRateLimit
		case status >= 500:
			reason = ReasonBackendError
		default:
			reason = "forbidden"
		}
	}
	domain := "global"
	if reason == ReasonUserRateLimit || reason == ReasonRateLimit {
		domain = "usageLimits"
	}
	msg := http.StatusText(status)
	return &apiError{Code: status, Message: msg, Errors: []errorItem{{Domain: domain, Reason: reason, Message: msg}}}
}
