package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// startPprof serves Go's runtime profiles under /debug/pprof/ on
// debug.pprof_listen, a listener of its own, when that is set. The profiles
// take no token, so they are never on the main listener, whose routes face
// PBXs and dashboards.
func (a *App) startPprof() error {
	addr := a.cfg.Debug.PprofListen
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s (debug.pprof_listen): %w", addr, err)
	}
	a.pprof = ln
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // heap, goroutine, allocs, block, mutex, threadcreate
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No WriteTimeout: a CPU profile or trace answers after its ?seconds=.
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("pprof server failed", "err", err)
		}
	}()
	a.cleanup.add("stop pprof server", srv.Close)
	a.log.Info("pprof listening", "addr", ln.Addr().String())
	return nil
}

// PprofAddr is the address the profiles are served on, or "" when
// debug.pprof_listen is not set.
func (a *App) PprofAddr() string {
	if a.pprof == nil {
		return ""
	}
	return a.pprof.Addr().String()
}
