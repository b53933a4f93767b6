package fakedrive

// fault is an injected failure: the next Times matching calls answer
// Status with Reason instead of their result.
type fault struct {
	user, endpoint string
	status         int
	reason         string
	left           int
}

// Fail makes the next n calls of user to endpoint answer status with
// reason (for example 403 ReasonUserRateLimit, 429 ReasonRateLimit, 503
// ReasonBackendError; "" picks Google's usual reason for the status). An
// empty user or endpoint matches any. Faults queue up in order.
func (s *Server) Fail(user, endpoint string, status int, reason string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{user: user, endpoint: endpoint, status: status, reason: reason, left: n})
}

// takeFault consumes one matching injected failure, if any. s.mu is held.
func (s *Server) takeFault(user, endpoint string) *apiError {
	for i, f := range s.faults {
		if (f.user == "" || f.user == user) && (f.endpoint == "" || f.endpoint == endpoint) {
			f.left--
			if f.left <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return faultError(f.status, f.reason)
		}
	}
	return nil
}
