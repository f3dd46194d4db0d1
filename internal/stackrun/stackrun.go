// Package stackrun runs hack/localstack as a child process: it starts it,
// waits for its one READY line and stops it with SIGTERM, so that the demo,
// the bench and the tests that drive a whole local system share one way to
// do it.
package stackrun

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/bkplugin/bk-plugin-operator/internal/syncbuf"
)

// Options says how to run the stack.
type Options struct {
	// Binary is the localstack binary.
	Binary string
	// Args are its arguments.
	Args []string
	// Env is its whole environment; nil means the caller's.
	Env []string
	// Stderr receives the stack's progress and errors; nil keeps them to
	// be shown only when something goes wrong (Stack.Stderr).
	Stderr io.Writer
	// StartTimeout bounds the wait for READY (default 3 minutes: two busy
	// cores can take a minute to bring every process up).
	StartTimeout time.Duration
	// StopTimeout bounds the wait after SIGTERM before the stack is killed
	// (default 1 minute).
	StopTimeout time.Duration
}

// Stack is a running local stack.
type Stack struct {
	// Shim, Kubeconfig and Logs are the READY line's fields.
	Shim, Kubeconfig, Logs string
	// Token is the READY line's dev bearer token, which the shim accepts
	// unless the stack was given another --auth-token-file.
	Token string

	opts   Options
	cmd    *exec.Cmd
	stderr *syncbuf.Buffer
	exited chan struct{}
	err    error
}

// Start starts the stack and returns once it has printed READY.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 3 * time.Minute
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = time.Minute
	}
	s := &Stack{opts: opts, stderr: &syncbuf.Buffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(opts.Binary, opts.Args...)
	s.cmd.Env = opts.Env
	s.cmd.Stderr = s.stderr
	if opts.Stderr != nil {
		s.cmd.Stderr = io.MultiWriter(s.stderr, opts.Stderr)
	}
	s.cmd.SysProcAttr = sysProcAttr()
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", opts.Binary, err)
	}
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case first <- sc.Text():
			default: // READY is the only line the stack prints
			}
		}
		s.err = s.cmd.Wait()
		close(s.exited)
	}()

	timer := time.NewTimer(opts.StartTimeout)
	defer timer.Stop()
	select {
	case line := <-first:
		if err := s.parseReady(line); err != nil {
			_ = s.Stop()
			return nil, err
		}
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("the local stack exited before it was ready (%v):\n%s", s.err, s.stderr)
	case <-timer.C:
		_ = s.Stop()
		return nil, fmt.Errorf("the local stack was not ready within %s:\n%s", opts.StartTimeout, s.stderr)
	case <-ctx.Done():
		_ = s.Stop()
		return nil, ctx.Err()
	}
}

// parseReady reads "READY shim=... kubeconfig=... logs=...".
func (s *Stack) parseReady(line string) error {
	rest, ok := strings.CutPrefix(line, "READY ")
	if !ok {
		return fmt.Errorf("the local stack printed %q instead of its READY line", line)
	}
	for _, f := range strings.Fields(rest) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "shim":
			s.Shim = v
		case "kubeconfig":
			s.Kubeconfig = v
		case "logs":
			s.Logs = v
		case "token":
			s.Token = v
		}
	}
	if s.Shim == "" || s.Kubeconfig == "" || s.Logs == "" {
		return fmt.Errorf("READY line %q lacks shim, kubeconfig or logs", line)
	}
	return nil
}

// Stop sends SIGTERM, which has the stack stop every process it started,
// and waits; it kills the stack only past StopTimeout.
func (s *Stack) Stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(s.opts.StopTimeout)
	defer timer.Stop()
	select {
	case <-s.exited:
	case <-timer.C:
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("the local stack did not stop within %s and was killed:\n%s", s.opts.StopTimeout, s.stderr)
	}
	if s.err != nil {
		return fmt.Errorf("the local stack stopped with %v:\n%s", s.err, s.stderr)
	}
	return nil
}

// Stderr is what the stack has written to its stderr so far.
func (s *Stack) Stderr() string { return s.stderr.String() }

// Exited reports whether the stack has stopped, and with what error.
func (s *Stack) Exited() (bool, error) {
	select {
	case <-s.exited:
		return true, s.err
	default:
		return false, nil
	}
}
