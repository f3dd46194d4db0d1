package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// checkPprofAddr refuses a --pprof-addr on the plugin's own port: the
// profiles (and the command line) must never be reachable where the
// plugin is served.
func checkPprofAddr(pprofAddr, addr string) error {
	_, pp, err := net.SplitHostPort(pprofAddr)
	if err != nil {
		return &usageError{fmt.Sprintf("--pprof-addr %q: %v", pprofAddr, err)}
	}
	if _, ap, err := net.SplitHostPort(addr); err == nil && pp == ap && pp != "0" {
		return &usageError{fmt.Sprintf("--pprof-addr %q: serve pprof on a port of its own, never the plugin's (--addr %q)", pprofAddr, addr)}
	}
	return nil
}

// servePprof serves net/http/pprof on ln, on a mux of its own (the
// plugin's handler never serves it), until ctx ends.
func servePprof(ctx context.Context, ln net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
}
