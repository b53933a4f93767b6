package demo

import (
	"errors"
	"net/http"
)

// orgOf returns the organization of the path; requireRole has already checked it.
func orgOf(r *http.Request) int64 {
	org, _ := pathID(r, "orgId")
	return org
}

// storeError answers a store error: errNotFound 404, errLimit 409, anything else 500.
func (a *API) storeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errNotFound):
		writeError(w, a.log, http.StatusNotFound, "not found")
	case errors.Is(err, errLimit):
		writeError(w, a.log, http.StatusConflict, "limit reached")
	default:
		a.log.Error("demo: store", "err", err)
		writeError(w, a.log, http.StatusInternalServerError, "internal error")
	}
}

// bodyError answers a request body that decodeJSON or validate refused.
func (a *API) bodyError(w http.ResponseWriter, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, errBadMediaType):
		writeError(w, a.log, http.StatusUnsupportedMediaType, err.Error())
	case errors.As(err, &tooBig):
		writeError(w, a.log, http.StatusRequestEntityTooLarge, "body too large")
	default:
		writeError(w, a.log, http.StatusBadRequest, err.Error())
	}
}

// readPerson decodes and validates a person body; it answers the request itself on failure.
func (a *API) readPerson(w http.ResponseWriter, r *http.Request, create bool) (personInput, bool) {
	var in personInput
	err := decodeJSON(w, r, &in)
	if err == nil {
		err = in.validate(create)
	}
	if err != nil {
		a.bodyError(w, err)
		return in, false
	}
	return in, true
}

// listPeople serves GET /orgs/{o}/people.
func (a *API) listPeople(w http.ResponseWriter, r *http.Request) {
	people, err := a.store.people(orgOf(r))
	if err != nil {
		a.storeError(w, err)
		return
	}
	writeData(w, a.log, http.StatusOK, people)
}

// createPerson serves POST /orgs/{o}/people: 201 with the new person.
func (a *API) createPerson(w http.ResponseWriter, r *http.Request) {
	in, ok := a.readPerson(w, r, true)
	if !ok {
		return
	}
	var p person
	in.apply(&p)
	p, err := a.store.addPerson(orgOf(r), p)
	if err != nil {
		a.storeError(w, err)
		return
	}
	writeData(w, a.log, http.StatusCreated, p)
}

// getPerson serves GET /orgs/{o}/people/{p}.
func (a *API) getPerson(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "personId")
	if !ok {
		a.storeError(w, errNotFound)
		return
	}
	p, err := a.store.person(orgOf(r), id)
	if err != nil {
		a.storeError(w, err)
		return
	}
	writeData(w, a.log, http.StatusOK, p)
}

// updatePerson serves PATCH /orgs/{o}/people/{p}: 200 with the changed person.
func (a *API) updatePerson(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "personId")
	if !ok {
		a.storeError(w, errNotFound)
		return
	}
	in, ok := a.readPerson(w, r, false)
	if !ok {
		return
	}
	p, err := a.store.updatePerson(orgOf(r), id, in.apply)
	if err != nil {
		a.storeError(w, err)
		return
	}
	writeData(w, a.log, http.StatusOK, p)
}

// deletePerson serves DELETE /orgs/{o}/people/{p}: 204, and the person leaves every view.
func (a *API) deletePerson(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "personId")
	if !ok {
		a.storeError(w, errNotFound)
		return
	}
	if err := a.store.deletePerson(orgOf(r), id); err != nil {
		a.storeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
