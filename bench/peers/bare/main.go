package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8090", "address to listen on")
	pingInterval := flag.Duration("ping-interval", 25*time.Second, "Engine.IO ping interval")
	flag.Parse()
	srv := newServer(*pingInterval)
	defer srv.close()
	hs := &http.Server{Addr: *listen, Handler: srv.routes(), ReadHeaderTimeout: 10 * time.Second}
	slog.Info("bare peer listening", "addr", *listen)
	if err := hs.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}
