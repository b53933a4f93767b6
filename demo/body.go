package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what a client may send.
const (
	maxBodyBytes = 16 << 10
	maxNameRunes = 100
	maxEmailLen  = 254
)

// errBadMediaType means the request body is not declared as JSON.
var errBadMediaType = errors.New("content type must be application/json")

// personInput is the body of POST and PATCH /orgs/{o}/people[/{p}]; absent fields are nil.
type personInput struct {
	FirstName *string `json:"first_name"`
	LastName  *string `json:"last_name"`
	Email     *string `json:"email"`
}

// decodeJSON reads exactly one JSON object of a bounded size with no unknown fields into v.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return errBadMediaType
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode body: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("decode body: more than one JSON value")
	}
	return nil
}

// validate checks the fields that are present; requireFirst demands a first name (on create).
func (in personInput) validate(requireFirst bool) error {
	if requireFirst && in.FirstName == nil {
		return errors.New("first_name is required")
	}
	if in.FirstName != nil && strings.TrimSpace(*in.FirstName) == "" {
		return errors.New("first_name must not be empty")
	}
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"first_name", in.FirstName, maxNameRunes}, {"last_name", in.LastName, maxNameRunes}, {"email", in.Email, maxEmailLen}} {
		if f.v == nil {
			continue
		}
		if utf8.RuneCountInString(*f.v) > f.max {
			return fmt.Errorf("%s is longer than %d characters", f.name, f.max)
		}
		if strings.ContainsFunc(*f.v, unicode.IsControl) {
			return fmt.Errorf("%s contains control characters", f.name)
		}
	}
	return nil
}

// apply copies the present fields onto p.
func (in personInput) apply(p *person) {
	if in.FirstName != nil {
		p.FirstName = strings.TrimSpace(*in.FirstName)
	}
	if in.LastName != nil {
		p.LastName = strings.TrimSpace(*in.LastName)
	}
	if in.Email != nil {
		p.Email = strings.TrimSpace(*in.Email)
	}
}
