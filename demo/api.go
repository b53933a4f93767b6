package demo

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
)

// DefaultPrefix is where NewAPI serves the API unless WithPrefix says otherwise; the gateway's
// upstream base URL is then http://HOST:PORT/v1.
const DefaultPrefix = "/v1"

// API is an in-memory stand-in for the Zetkin platform API. It is an http.Handler, safe for
// concurrent use; every request is authenticated and checked for access to its organization.
type API struct {
	prefix string
	log    *slog.Logger
	store  *store
	router http.Handler
}

// Option configures NewAPI.
type Option func(*API)

// WithPrefix serves the API under prefix (for example "/v1"; "" serves it at the root).
func WithPrefix(prefix string) Option {
	return func(a *API) {
		a.prefix = strings.TrimRight(prefix, "/")
		if a.prefix != "" && !strings.HasPrefix(a.prefix, "/") {
			a.prefix = "/" + a.prefix
		}
	}
}

// WithLogger sets the logger for the rare failures the API cannot answer (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(a *API) {
		if l != nil {
			a.log = l
		}
	}
}

// NewAPI returns an API with the seeded demo data: organizations 1 and 2 with eight people
// each and their views, and the users alice, bob, carol and dave.
func NewAPI(opts ...Option) *API {
	a := &API{prefix: DefaultPrefix, log: slog.Default(), store: newStore()}
	for _, o := range opts {
		o(a)
	}
	a.router = a.routes()
	return a
}

// Prefix returns the path prefix the API is served under.
func (a *API) Prefix() string { return a.prefix }

// ServeHTTP serves the API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.router.ServeHTTP(w, r) }

func (a *API) routes() http.Handler {
	root := chi.NewRouter()
	root.Use(a.requireUser)
	root.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, a.log, http.StatusNotFound, "not found")
	})
	root.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, a.log, http.StatusMethodNotAllowed, "method not allowed")
	})
	if a.prefix == "" {
		a.endpoints(root)
	} else {
		root.Route(a.prefix, a.endpoints)
	}
	return root
}

// endpoints declares the API's paths, as the Zetkin API names them after its /v1 prefix.
func (a *API) endpoints(api chi.Router) {
	api.Get("/users/me/memberships", a.listMemberships)
	api.Get("/users/me/memberships/{orgId}", a.getMembership)
	api.Route("/orgs/{orgId}", func(r chi.Router) {
		r.Use(a.requireRole)
		r.Get("/people", a.listPeople)
		r.Post("/people", a.createPerson)
		r.Get("/people/{personId}", a.getPerson)
		r.Patch("/people/{personId}", a.updatePerson)
		r.Delete("/people/{personId}", a.deletePerson)
		r.Get("/people/views", a.listViews)
		r.Get("/people/views/{viewId}", a.getView)
		r.Get("/people/views/{viewId}/columns", a.listColumns)
		r.Get("/people/views/{viewId}/rows", a.listRows)
		r.Put("/people/views/{viewId}/rows/{personId}", a.addRow)
		r.Delete("/people/views/{viewId}/rows/{personId}", a.deleteRow)
	})
}
