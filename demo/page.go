package demo

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

//go:embed static
var staticFS embed.FS

// pageCSP lets the page load only its own scripts and styles and talk only to its own origin
// (fetch to /api, Socket.IO to /socket.io/); nothing may frame it.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Page returns the handler of the demo page: GET / (the page), GET /demo/{app.js, style.css,
// licenses.txt, socket.io-client.LICENSE}, POST /demo/login?user=NAME and POST /demo/logout.
// Everything else is 404. Cross-origin POSTs are refused (http.CrossOriginProtection), so another
// site cannot log a visitor in as a demo user of its choosing.
//
// The files are the Vite build of demo/web (React, Redux Toolkit and the client/ kit), committed
// so that the gateway needs no Node to serve them; `npm run build` in demo/web rewrites them.
func Page() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", mustAsset("static/index.html", "text/html; charset=utf-8"))
	mux.Handle("GET /demo/app.js", mustAsset("static/app.js", "text/javascript; charset=utf-8"))
	mux.Handle("GET /demo/style.css", mustAsset("static/style.css", "text/css; charset=utf-8"))
	mux.Handle("GET /demo/licenses.txt", mustAsset("static/licenses.txt", "text/plain; charset=utf-8"))
	mux.Handle("GET /demo/socket.io-client.LICENSE", mustAsset("static/socket.io-client.LICENSE", "text/plain; charset=utf-8"))
	mux.HandleFunc("POST /demo/login", login)
	mux.HandleFunc("POST /demo/logout", logout)
	return http.NewCrossOriginProtection().Handler(mux)
}

// asset is one embedded file served with a fixed content type and a content-hash ETag.
type asset struct {
	name        string
	contentType string
	body        string
	etag        string
}

func mustAsset(name, contentType string) *asset {
	b, err := staticFS.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("demo: embedded asset %s: %v", name, err)) // a build defect, not a runtime condition
	}
	sum := sha256.Sum256(b)
	return &asset{name: name, contentType: contentType, body: string(b), etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

func (a *asset) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if strings.HasPrefix(a.contentType, "text/html") {
		h.Set("Content-Security-Policy", pageCSP)
	}
	http.ServeContent(w, r, a.name, time.Time{}, strings.NewReader(a.body))
}

// login serves POST /demo/login?user=NAME: the demo's stand-in for a real login. It sets the
// demo_user cookie that the example API (and so the gateway's membership check) reads.
func login(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("user")
	u, ok := lookupUser(name)
	if !ok {
		writeError(w, slog.Default(), http.StatusBadRequest, "unknown user")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: u.name, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil,
	})
	writeData(w, slog.Default(), http.StatusOK, map[string]string{"user": u.name})
}

// logout serves POST /demo/logout: it deletes the demo_user cookie.
func logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil,
	})
	w.WriteHeader(http.StatusNoContent)
}
