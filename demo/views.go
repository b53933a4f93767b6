package demo

import "net/http"

// viewPath returns the organization and view of the path, answering 404 itself if the view
// ID is malformed.
func (a *API) viewPath(w http.ResponseWriter, r *http.Request) (org, viewID int64, ok bool) {
	viewID, ok = pathID(r, "viewId")
	if !ok {
		a.storeError(w, errNotFound)
	}
	return orgOf(r), viewID, ok
}

// rowPath is viewPath plus the person ID of a row.
func (a *API) rowPath(w http.ResponseWriter, r *http.Request) (org, viewID, personID int64, ok bool) {
	org, viewID, ok = a.viewPath(w, r)
	if !ok {
		return 0, 0, 0, false
	}
	personID, ok = pathID(r, "personId")
	if !ok {
		a.storeError(w, errNotFound)
	}
	return org, viewID, personID, ok
}

// listViews serves GET /orgs/{o}/people/views.
func (a *API) listViews(w http.ResponseWriter, r *http.Request) {
	views, err := a.store.views(orgOf(r))
	if err != nil {
		a.storeError(w, err)
		return
	}
	writeData(w, a.log, http.StatusOK, views)
}

// getView serves GET /orgs/{o}/people/views/{v}.
func (a *API) getView(w http.ResponseWriter, r *http.Request) {
	org, viewID, ok := a.viewPath(w, r)
	if !ok {
		return
	}
	v, err := a.store.view(org, viewID)
	if err != nil {
		a.storeError(w, err)
		return
	}
	writeData(w, a.log, http.StatusOK, v)
}

// listColumns serves GET /orgs/{o}/people/views/{v}/columns: the meaning of a row's content.
func (a *API) listColumns(w http.ResponseWriter, r *http.Request) {
	org, viewID, ok := a.viewPath(w, r)
	if !ok {
		return
	}
	if _, err := a.store.view(org, viewID); err != nil {
		a.storeError(w, err)
		return
	}
	writeData(w, a.log, http.StatusOK, viewColumns)
}

// listRows serves GET /orgs/{o}/people/views/{v}/rows.
func (a *API) listRows(w http.ResponseWriter, r *http.Request) {
	org, viewID, ok := a.viewPath(w, r)
	if !ok {
		return
	}
	rows, err := a.store.rows(org, viewID)
	if err != nil {
		a.storeError(w, err)
		return
	}
	writeData(w, a.log, http.StatusOK, rows)
}

// addRow serves PUT /orgs/{o}/people/views/{v}/rows/{p}: 200 with the row (also if it existed).
func (a *API) addRow(w http.ResponseWriter, r *http.Request) {
	org, viewID, personID, ok := a.rowPath(w, r)
	if !ok {
		return
	}
	row, err := a.store.addRow(org, viewID, personID)
	if err != nil {
		a.storeError(w, err)
		return
	}
	writeData(w, a.log, http.StatusOK, row)
}

// deleteRow serves DELETE /orgs/{o}/people/views/{v}/rows/{p}: 204, or 404 if not a row.
func (a *API) deleteRow(w http.ResponseWriter, r *http.Request) {
	org, viewID, personID, ok := a.rowPath(w, r)
	if !ok {
		return
	}
	if err := a.store.deleteRow(org, viewID, personID); err != nil {
		a.storeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
