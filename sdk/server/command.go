package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/manifest"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/tracing"
)

// Main is the whole main function of a plugin binary: it runs the command
// in os.Args and exits, with status 2 for a usage error and 1 for a failure.
//
//	<plugin> [serve] [--addr :8080] [--shutdown-delay 5s] [--pprof-addr 127.0.0.1:6060] ...
//	<plugin> manifest --service NAME [--port N] [--namespace NS]
//	<plugin> manifest --url URL
//	<plugin> manifest --check-against FILE [--versions V,...]
func Main(p *plugin.Plugin) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Command(ctx, p, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.As(err, new(*usageError)):
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// usageError is a command line that cannot be run.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// Command runs one command of a plugin binary (see Main) with args (without
// the program name), until ctx is done for serve.
func Command(ctx context.Context, p *plugin.Plugin, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serveCommand(ctx, p, args, stderr)
	case "manifest":
		return manifestCommand(p, args, stdout, stderr)
	case "help":
		fmt.Fprintf(stderr, "usage: %s serve|manifest [flags]; run a command with -h for its flags\n", p.Meta().Code)
		return flag.ErrHelp
	}
	return &usageError{fmt.Sprintf("unknown command %q: want serve or manifest", cmd)}
}

func serveCommand(ctx context.Context, p *plugin.Plugin, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet(p.Meta().Code+" serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", ":8080", "address to serve on")
	maxBytes := fs.Int64("max-request-bytes", 8<<20, "largest request body accepted")
	execTimeout := fs.Duration("execute-timeout", 0, "cancel an execute's context after this long (0: no bound)")
	delay := fs.Duration("shutdown-delay", 5*time.Second, "keep serving, unready, this long after SIGTERM")
	timeout := fs.Duration("shutdown-timeout", 30*time.Second, "wait this long for in-flight requests on shutdown")
	tokenFile := fs.String("execute-token-file", os.Getenv(protocol.ExecuteTokenEnv), "file holding the manager's execute token; executes without it get 401 (env "+protocol.ExecuteTokenEnv+")")
	insecureDefault, _ := strconv.ParseBool(os.Getenv(protocol.InsecureNoExecuteTokenEnv))
	insecure := fs.Bool("insecure-no-execute-token", insecureDefault, "LAPTOPS ONLY: with no --execute-token-file, serve executes from anyone (env "+protocol.InsecureNoExecuteTokenEnv+"=true); without either, every execute gets 401")
	pprofAddr := fs.String("pprof-addr", "", "serve net/http/pprof on this address, a listener of its own (off when empty); for profiling, never expose it")
	if err := parse(fs, args); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	if *pprofAddr != "" {
		if err := checkPprofAddr(*pprofAddr, *addr); err != nil {
			return err
		}
		ln, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			return fmt.Errorf("listen for pprof on %s: %w", *pprofAddr, err)
		}
		servePprof(ctx, ln)
		logger.Info("serving pprof", "addr", ln.Addr().String())
	}
	switch {
	case *tokenFile != "":
	case *insecure:
		logger.Warn("--insecure-no-execute-token: anyone who reaches this pod can execute the plugin, skipping the shim's authentication, allow_scope and task.json checks; never in a cluster")
	default:
		logger.Error("no --execute-token-file: every execute will be refused (401); give the pod the manager's token (" + protocol.ExecuteTokenEnv + ") or, on a laptop, --insecure-no-execute-token")
	}
	// Traces go where the OTEL_* environment says; nowhere by default.
	traces, flush, err := tracing.Setup(ctx, tracing.Options{ServiceName: p.Meta().Code})
	if err != nil {
		return err
	}
	defer func() {
		if err := flush.AtExit(ctx); err != nil {
			logger.Warn("flushing traces failed", "error", err.Error())
		}
	}()
	s, err := New(p, Options{
		Tracing:                traces,
		Logger:                 logger,
		MaxRequestBytes:        *maxBytes,
		ExecuteTimeout:         *execTimeout,
		ShutdownDelay:          *delay,
		ShutdownTimeout:        *timeout,
		ExecuteTokenFile:       *tokenFile,
		InsecureNoExecuteToken: *insecure,
	})
	if err != nil {
		return err
	}
	return s.Run(ctx, *addr)
}

func manifestCommand(p *plugin.Plugin, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(p.Meta().Code+" manifest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts manifest.Options
	var port int
	var versions string
	fs.StringVar(&opts.Service, "service", "", "name of the Service in front of the plugin pods")
	fs.IntVar(&port, "port", 0, "the Service's port (default 80)")
	fs.StringVar(&opts.Namespace, "namespace", "", "namespace of the PluginVersions (default: kubectl's)")
	fs.StringVar(&opts.URL, "url", "", "base URL of the plugin pod, instead of a Service")
	fs.StringVar(&opts.Image, "image", "", "also print a PluginServer running this image, which the versions name as their endpoint")
	fs.StringVar(&opts.Server, "server", "", "name of the PluginServer the versions name (default with --image: the plugin code)")
	fs.StringVar(&versions, "versions", "", "comma-separated versions to print or check (default: all)")
	checkAgainst := fs.String("check-against", "", "instead of printing, check each version against the published one of the same major in this manifest file (as printed by manifest or kubectl get pluginversions -o yaml); exit 1 on a breaking change")
	if err := parse(fs, args); err != nil {
		return err
	}
	if versions != "" {
		opts.Versions = strings.Split(versions, ",")
	}
	if *checkAgainst != "" {
		if opts.Service != "" || opts.URL != "" || port != 0 || opts.Namespace != "" || opts.Image != "" || opts.Server != "" {
			return &usageError{"manifest: --check-against prints a report, not objects; drop --service, --url, --image, --server, --port and --namespace"}
		}
		return checkCommand(p, *checkAgainst, opts.Versions, stdout)
	}
	if n := countSet(opts.Service, opts.URL, opts.Image+opts.Server); n != 1 {
		return &usageError{"manifest: give one of --image IMAGE (and --server NAME), --server NAME, --service NAME (with --port N) or --url URL"}
	}
	if port != 0 && opts.Service == "" {
		return &usageError{"manifest: --port is the port of --service; a PluginServer's Service always listens on 80"}
	}
	if port < 0 || port > 65535 {
		return &usageError{fmt.Sprintf("manifest: --port %d is not a TCP port", port)}
	}
	opts.Port = int32(port)
	return manifest.Write(stdout, p, opts)
}

// checkCommand prints how each version compares with the published one it
// replaces, and fails (exit status 1) when any breaks its callers.
func checkCommand(p *plugin.Plugin, path string, versions []string, stdout io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("manifest --check-against: %w", err)
	}
	defer f.Close()
	published, err := manifest.Read(f)
	if err != nil {
		return fmt.Errorf("manifest --check-against %s: %w", path, err)
	}
	checks, err := manifest.CheckAgainst(p, published, versions)
	if err != nil {
		return fmt.Errorf("manifest --check-against %s: %w", path, err)
	}
	if err := manifest.WriteChecks(stdout, p.Meta().Code, checks); err != nil {
		return fmt.Errorf("manifest --check-against %s: %w", path, err)
	}
	return nil
}

// countSet counts the non-empty strings.
func countSet(values ...string) int {
	n := 0
	for _, v := range values {
		if v != "" {
			n++
		}
	}
	return n
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("%s: unexpected arguments %q", fs.Name(), fs.Args())}
	}
	return nil
}
