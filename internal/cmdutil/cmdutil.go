// Package cmdutil holds what the main packages share: reading the callback
// key both binaries sign with, and the main() body of the dev tools in
// hack/ (parse flags, run until a signal, exit with a status).
package cmdutil

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// MinCallbackKeyBytes is the shortest callback signing key accepted.
const MinCallbackKeyBytes = 16

// ReadCallbackKey reads a callback signing key file, trimming surrounding
// whitespace; path "" means no key (nil). A key shorter than
// MinCallbackKeyBytes is refused: it could be guessed.
func ReadCallbackKey(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read callback key: %w", err)
	}
	return CheckCallbackKey(b, path)
}

// CheckCallbackKey trims b and refuses it when shorter than
// MinCallbackKeyBytes; where names its source in the error.
func CheckCallbackKey(b []byte, where string) ([]byte, error) {
	key := bytes.TrimSpace(b)
	if len(key) < MinCallbackKeyBytes {
		return nil, fmt.Errorf("callback key in %s is %d bytes; use at least %d random bytes", where, len(key), MinCallbackKeyBytes)
	}
	return key, nil
}

// Tool is one dev tool's main: how it parses its flags and what it runs.
type Tool[C any] struct {
	// Name prefixes the errors printed to stderr.
	Name string
	// Parse reads the command line; it returns flag.ErrHelp for -h.
	Parse func(args []string, stderr io.Writer) (C, error)
	// Run runs the tool until done or until ctx ends (SIGINT, SIGTERM).
	Run func(ctx context.Context, cfg C) error
	// Failed, when set, reports Run's error instead of "<name>: <err>" on
	// stderr.
	Failed func(err error)
}

// Main runs t and exits: 0 after -h or success, 2 for bad flags, 1 when
// Run fails.
func (t Tool[C]) Main() {
	cfg, err := t.Parse(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", t.Name, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := t.Run(ctx, cfg); err != nil {
		if t.Failed != nil {
			t.Failed(err)
		} else {
			fmt.Fprintf(os.Stderr, "%s: %v\n", t.Name, err)
		}
		stop()
		os.Exit(1)
	}
}

// StringList is a flag that may be given many times, such as --shim-arg.
type StringList []string

// String joins the values with spaces.
func (l *StringList) String() string { return strings.Join(*l, " ") }

// Set adds one value.
func (l *StringList) Set(v string) error { *l = append(*l, v); return nil }
