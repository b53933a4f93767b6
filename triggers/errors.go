package triggers

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is matched (errors.Is) by every error that Parse and Load return
// for a trigger file whose content is wrong, as opposed to one that can't be read.
var ErrInvalid = errors.New("invalid trigger file")

// Problem is one thing wrong with a trigger file, located by file and line.
type Problem struct {
	File string
	Line int
	Msg  string
}

// Error formats the problem as "FILE:LINE: problem".
func (p *Problem) Error() string {
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
}

// Error lists every problem found in a trigger file, one per line.
// errors.Is(err, ErrInvalid) holds for it, and errors.As finds each *Problem.
type Error struct {
	Problems []*Problem
}

// Error joins the problems, one "FILE:LINE: problem" per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Is reports whether target is ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Unwrap returns the individual problems.
func (e *Error) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}
