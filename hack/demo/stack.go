package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// localStack is a running hack/localstack child.
type localStack struct {
	cmd *exec.Cmd
	// shim, kubeconfig and logs come from the READY line.
	shim, kubeconfig, logs string
	stderr                 *lockedBuffer
	// exited is closed when the child has exited; err is then its status.
	exited chan struct{}
	err    error
}

// startStack starts the local stack and waits for its READY line. Its
// stderr is kept to be shown only when something goes wrong.
func startStack(ctx context.Context, cfg config) (*localStack, error) {
	s := &localStack{stderr: &lockedBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(cfg.stackBin, "--bin-dir", cfg.binDir)
	s.cmd.Stderr = s.stderr
	s.cmd.SysProcAttr = sysProcAttr()
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.stackBin, err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // only the first line matters
			}
		}
		s.err = s.cmd.Wait()
		close(s.exited)
	}()

	timer := time.NewTimer(cfg.startTimeout)
	defer timer.Stop()
	select {
	case line := <-lines:
		if err := s.parseReady(line); err != nil {
			s.stop()
			return nil, err
		}
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("the local stack exited before it was ready (%v):\n%s", s.err, s.stderr)
	case <-timer.C:
		s.stop()
		return nil, fmt.Errorf("the local stack was not ready within %s:\n%s", cfg.startTimeout, s.stderr)
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

// parseReady reads "READY shim=... kubeconfig=... logs=...".
func (s *localStack) parseReady(line string) error {
	rest, ok := strings.CutPrefix(line, "READY ")
	if !ok {
		return fmt.Errorf("the local stack printed %q instead of its READY line", line)
	}
	for _, f := range strings.Fields(rest) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "shim":
			s.shim = v
		case "kubeconfig":
			s.kubeconfig = v
		case "logs":
			s.logs = v
		}
	}
	if s.shim == "" || s.kubeconfig == "" || s.logs == "" {
		return fmt.Errorf("READY line %q lacks shim, kubeconfig or logs", line)
	}
	return nil
}

// stop sends SIGTERM and waits for the stack to stop every process of its
// own; it kills the stack only if that takes more than a minute.
func (s *localStack) stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(time.Minute)
	defer timer.Stop()
	select {
	case <-s.exited:
	case <-timer.C:
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("the local stack did not stop within a minute and was killed:\n%s", s.stderr)
	}
	if s.err != nil {
		return fmt.Errorf("the local stack stopped with %v:\n%s", s.err, s.stderr)
	}
	return nil
}

// lockedBuffer collects the stack's stderr, written by exec's goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
