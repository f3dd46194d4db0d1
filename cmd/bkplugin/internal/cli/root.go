// Package cli is the bkplugin command line: a client of the shim's standard
// plugin API (invoke, schedule, callback, logs, versions, plugins, cancel,
// history) and the scaffold of new plugins (init). The same binary is the
// kubectl plugin `kubectl bkplugin` when it is named kubectl-bkplugin.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bkplugin/bk-plugin-operator/sdk/client"
)

// Environment variables that stand in for global flags.
const (
	// EnvServer is the shim's root URL (--server).
	EnvServer = "BKPLUGIN_SERVER"
	// EnvToken is the bearer token sent to the shim (--token).
	EnvToken = "BKPLUGIN_TOKEN"
	// EnvAppCode is the calling app's code (--app-code).
	EnvAppCode = "BKPLUGIN_APP_CODE"
	// EnvUsername is the user calls are made for (--username).
	EnvUsername = "BKPLUGIN_USERNAME"
)

// DefaultServer is the shim's root URL when neither --server nor
// BKPLUGIN_SERVER says otherwise: `make run-local`'s shim.
const DefaultServer = "http://127.0.0.1:8080"

// Exit statuses of Main.
const (
	// ExitOK means the command did what it was asked.
	ExitOK = 0
	// ExitFailure means the command failed, or the invocation it waited
	// for ended FAIL.
	ExitFailure = 1
	// ExitUsage means the command line was wrong.
	ExitUsage = 2
)

// IO is where a run of the command line reads and writes, and how it sees
// its environment.
type IO struct {
	// In is read for "@-" arguments.
	In io.Reader
	// Out receives results: tables, or JSON with -o json.
	Out io.Writer
	// Err receives progress and errors.
	Err io.Writer
	// Getenv reads the environment; nil reads nothing.
	Getenv func(string) string
}

// globals are the flags every client command shares.
type globals struct {
	io       IO
	server   string
	token    string
	appCode  string
	username string
	output   string
	timeout  time.Duration
}

// usageError is a command line that cannot run; Main exits ExitUsage.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// Main runs the command line args (args[0] is the program's name) and
// returns the exit status. Named kubectl-bkplugin, the binary calls itself
// `kubectl bkplugin` in its help, and behaves the same otherwise.
func Main(ctx context.Context, args []string, streams IO) int {
	if streams.Getenv == nil {
		streams.Getenv = func(string) string { return "" }
	}
	name := "bkplugin"
	if len(args) > 0 && strings.HasPrefix(filepath.Base(args[0]), "kubectl-") {
		name = "kubectl " + strings.TrimPrefix(filepath.Base(args[0]), "kubectl-")
	}
	root := NewRoot(streams, name)
	root.SetArgs(args[1:])
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(streams.Err, "%s: %v\n", name, err)
	var usage *usageError
	if errors.As(err, &usage) {
		fmt.Fprintf(streams.Err, "Run '%s --help' for usage.\n", name)
		return ExitUsage
	}
	return ExitFailure
}

// NewRoot returns the root command, displayed as name ("bkplugin" or
// "kubectl bkplugin").
func NewRoot(streams IO, name string) *cobra.Command {
	g := &globals{io: streams}
	root := &cobra.Command{
		Use:   "bkplugin",
		Short: "Invoke and inspect BlueKing plugins through the bk-plugin-operator shim, and scaffold new plugins",
		Long: `bkplugin talks to the shim of bk-plugin-operator, which serves the standard
BlueKing plugin API for every plugin under /plugins/{code}, and writes new
plugin projects with 'init'.

The shim's URL comes from --server or ` + EnvServer + ` (default ` + DefaultServer + `);
a bearer token from --token or ` + EnvToken + `. Every command prints a human
table by default and JSON with -o json.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: name},
		Version:       buildVersion(),
		// Without these, cobra answers an unknown command with a plain
		// error (exit 1) instead of a usage error.
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })

	pf := root.PersistentFlags()
	pf.StringVar(&g.server, "server", envOr(streams, EnvServer, DefaultServer), "root URL of the shim (env "+EnvServer+")")
	// The token's env value is read at run time, not shown as a default in
	// --help, where it would be printed.
	pf.StringVar(&g.token, "token", "", "bearer token for the shim (env "+EnvToken+")")
	pf.StringVar(&g.appCode, "app-code", streams.Getenv(EnvAppCode), "calling app's code, sent as X-Bkplugin-App-Code; shims read it only with --trust-identity-headers, else the token names the app (env "+EnvAppCode+")")
	pf.StringVar(&g.username, "username", streams.Getenv(EnvUsername), "user the call is made for (env "+EnvUsername+")")
	pf.StringVarP(&g.output, "output", "o", "table", "output format: table or json")
	pf.DurationVar(&g.timeout, "request-timeout", client.DefaultTimeout, "bound on each HTTP call to the shim")

	root.AddCommand(
		newInvokeCommand(g),
		newScheduleCommand(g),
		newCancelCommand(g),
		newCallbackCommand(g),
		newLogsCommand(g),
		newHistoryCommand(g),
		newVersionsCommand(g),
		newPluginsCommand(g),
		newInitCommand(g),
		newVersionCommand(g),
	)
	// Examples are written for bkplugin; show them under the name in use.
	for _, c := range root.Commands() {
		c.Example = strings.ReplaceAll(c.Example, "  bkplugin ", "  "+name+" ")
	}
	return root
}

func envOr(streams IO, key, def string) string {
	if v := streams.Getenv(key); v != "" {
		return v
	}
	return def
}

// client returns a client of the shim, after checking the output format so
// that a typo fails before any call is made.
func (g *globals) client() (*client.Client, error) {
	if err := g.checkOutput(); err != nil {
		return nil, err
	}
	if g.token == "" {
		g.token = g.io.Getenv(EnvToken)
	}
	c, err := client.New(g.server, client.Options{
		BearerToken: g.token,
		AppCode:     g.appCode,
		Username:    g.username,
		Timeout:     g.timeout,
		UserAgent:   "bkplugin-cli/" + buildVersion(),
	})
	if err != nil {
		return nil, usagef("--server: %w", err)
	}
	return c, nil
}

// onInvocation is the RunE of a command whose arguments are CODE TRACE_ID:
// it connects to the shim and runs run on that invocation.
func (g *globals) onInvocation(run func(ctx context.Context, c *client.Client, code, traceID string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := g.client()
		if err != nil {
			return err
		}
		return run(cmd.Context(), c, args[0], args[1])
	}
}

func (g *globals) checkOutput() error {
	switch g.output {
	case "table", "json":
		return nil
	}
	return usagef("--output %q: want table or json", g.output)
}

func (g *globals) json() bool { return g.output == "json" }

// exactArgs is cobra.ExactArgs whose error is a usage error naming the
// arguments wanted.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return usagef("want %d arguments (%s), got %d", len(names), strings.Join(names, " "), len(args))
		}
		for i, a := range args {
			if strings.TrimSpace(a) == "" {
				return usagef("%s must not be empty", names[i])
			}
		}
		return nil
	}
}
