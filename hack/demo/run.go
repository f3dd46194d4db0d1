package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/bkplugin/bk-plugin-operator/internal/stackrun"
	"github.com/bkplugin/bk-plugin-operator/sdk/client"
)

// run starts the stack, runs every step and stops the stack. A step that
// ends unexpectedly does not stop the demo: the others still show what
// works, and the error lists every failure.
func run(ctx context.Context, cfg config, w io.Writer) (err error) {
	p := &printer{w: w}
	p.title("bk-plugin-operator demo")
	p.line("Starting the local stack: etcd, kube-apiserver, the manager, the shim and 6 example plugins ...")
	started := time.Now()
	stack, err := stackrun.Start(ctx, stackrun.Options{Binary: cfg.stackBin, Args: []string{"--bin-dir", cfg.binDir}, StartTimeout: cfg.startTimeout})
	if err != nil {
		return err
	}
	defer func() {
		p.blank()
		p.line("Stopping the local stack ...")
		if stopErr := stack.Stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
			return
		}
		p.line("Stopped; every process of the stack has exited. Logs: %s", stack.Logs)
	}()
	p.line("Ready in %s.", time.Since(started).Round(100*time.Millisecond))
	p.field("shim", stack.Shim+"  (the standard BlueKing plugin API)")
	p.field("kubeconfig", stack.Kubeconfig)
	p.field("token", stack.Token+"  (the dev bearer token: Authorization: Bearer <token>, or paste it into the panel)")
	p.field("logs", stack.Logs)

	c, err := client.New(stack.Shim, client.Options{BearerToken: stack.Token})
	if err != nil {
		return err
	}
	steps := []struct {
		title string
		run   func(ctx context.Context, p *printer, c *client.Client) error
	}{
		{"The plugins the shim serves, from their PluginVersions (GET /plugins/)", listPlugins},
		{"hello 1.0.0, a plugin that finishes at once (synchronous invoke)", helloExact},
		{`hello "^1.1", a semver constraint the manager resolves`, helloConstraint},
		{"poller 1.0.0, polled 3 times 1 s apart (asynchronous invoke, then schedule)", poller},
		{"callbacker 1.0.0, which waits for a third party's callback", callbacker},
		{"deployer 1.0.0, described by a BK-CI task.json: rules, rely and a sensitive token", deployer},
		{"formapi, a form's data source with a query and a file upload, as bk-sops calls them", formAPI(stack.Shim, stack.Token)},
		{"notifier 1.0.0, the finish-callback mode: a POST to the platform instead of polling", notifier},
	}
	var failed []error
	for i, s := range steps {
		p.step(i+1, s.title)
		stepCtx, cancel := context.WithTimeout(ctx, cfg.stepTimeout)
		err := s.run(stepCtx, p, c)
		cancel()
		if err != nil {
			p.line("FAILED: %v", err)
			failed = append(failed, fmt.Errorf("step %d (%s): %w", i+1, s.title, err))
		}
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: %w", ctx.Err())
		}
	}

	p.step(len(steps)+1, "The same versions and invocations as Kubernetes objects, with kubectl")
	p.line("$ export KUBECONFIG=%s", stack.Kubeconfig)
	for _, kind := range []string{"plv", "pinv"} {
		p.line("$ kubectl get %s", kind)
		if err := kubectl(ctx, p, cfg.kubectl, stack.Kubeconfig, "get", kind); err != nil {
			failed = append(failed, err)
		}
	}

	if len(failed) > 0 {
		return fmt.Errorf("%d of %d steps went wrong (logs in %s):\n%w", len(failed), len(steps)+1, stack.Logs, errors.Join(failed...))
	}
	return nil
}

// kubectl runs kubectl against the stack and indents its output.
func kubectl(ctx context.Context, p *printer, bin, kubeconfig string, args ...string) error {
	cmd := exec.CommandContext(ctx, bin, append([]string{"--kubeconfig", kubeconfig, "--namespace", "default"}, args...)...)
	out, err := cmd.CombinedOutput()
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		p.line("  %s", l)
	}
	if err != nil {
		return fmt.Errorf("kubectl %s: %w", strings.Join(args, " "), err)
	}
	return nil
}
