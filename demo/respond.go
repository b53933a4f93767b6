package demo

import (
	"encoding/json"
	"log/slog"
	"net/http"
)

// writeData answers {"data": v} with status, as the Zetkin API does.
func writeData(w http.ResponseWriter, log *slog.Logger, status int, v any) {
	writeJSON(w, log, status, map[string]any{"data": v})
}

// writeError answers {"error": msg} with status.
func writeError(w http.ResponseWriter, log *slog.Logger, status int, msg string) {
	writeJSON(w, log, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, log *slog.Logger, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		log.Warn("demo: write JSON response", "status", status, "err", err)
	}
}
