// Command demo shows the whole system working: it starts the local stack
// (hack/localstack), invokes each example plugin through the shim with the
// Go client a platform would use, prints every state change as it happens,
// delivers the callbacker's callback, shows the invocations with kubectl and
// stops the stack. It exits 0 only when every invocation ended as expected.
//
//	make demo
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/bkplugin/bk-plugin-operator/internal/cmdutil"
)

// config is what one demo run needs.
type config struct {
	// stackBin is the localstack binary; binDir holds the others.
	stackBin, binDir string
	// kubectl is the kubectl binary.
	kubectl string
	// startTimeout bounds the wait for the stack's READY line.
	startTimeout time.Duration
	// stepTimeout bounds each step.
	stepTimeout time.Duration
}

func main() {
	cmdutil.Tool[config]{
		Name:  "demo",
		Parse: parseFlags,
		Run: func(ctx context.Context, cfg config) error {
			if err := run(ctx, cfg, os.Stdout); err != nil {
				return err
			}
			fmt.Fprintln(os.Stdout)
			fmt.Fprintln(os.Stdout, "DEMO PASSED: every invocation ended as expected.")
			fmt.Fprintln(os.Stdout, "Next: `make run-local` keeps the stack up for your own calls; see README.md.")
			return nil
		},
		Failed: func(err error) {
			fmt.Fprintln(os.Stdout)
			fmt.Fprintln(os.Stdout, "DEMO FAILED:", err)
		},
	}.Main()
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	defaultKubectl := "kubectl"
	if assets := os.Getenv("KUBEBUILDER_ASSETS"); assets != "" {
		defaultKubectl = filepath.Join(assets, "kubectl")
	}
	fs.StringVar(&cfg.binDir, "bin-dir", "bin", "folder of the binaries `make build` builds")
	fs.StringVar(&cfg.stackBin, "stack", "", "the localstack binary (default: <bin-dir>/localstack)")
	fs.StringVar(&cfg.kubectl, "kubectl", defaultKubectl, "the kubectl binary (default: the one in KUBEBUILDER_ASSETS)")
	fs.DurationVar(&cfg.startTimeout, "start-timeout", 3*time.Minute, "how long the stack may take to be ready")
	fs.DurationVar(&cfg.stepTimeout, "step-timeout", time.Minute, "how long each step may take")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.stackBin == "" {
		cfg.stackBin = filepath.Join(cfg.binDir, "localstack")
	}
	if _, err := os.Stat(cfg.stackBin); err != nil {
		return config{}, fmt.Errorf("no local stack binary at %s: run make demo, or make build first", cfg.stackBin)
	}
	return cfg, nil
}
