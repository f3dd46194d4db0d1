package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// process is one child of the stack, writing its output to its own log.
type process struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	// done is closed when the process has exited; err is then its exit error.
	done chan struct{}
	err  error
}

// startProcess starts bin with args, adding env to this program's
// environment, and writes its stdout and stderr to <logsDir>/<name>.log.
// exited receives the process when it exits; it must have room, since
// nothing may block a process's wait.
func startProcess(name, bin string, args, env []string, logsDir string, exited chan<- *process) (*process, error) {
	logPath := filepath.Join(logsDir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create the log of %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	p := &process{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = f.Close()
		close(p.done)
		exited <- p
	}()
	return p, nil
}

// pid returns the process's PID.
func (p *process) pid() int { return p.cmd.Process.Pid }

// exited tells whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitError describes how the process ended, for an operator.
func (p *process) exitError() error {
	if p.err == nil {
		return fmt.Errorf("%s exited (status 0); see %s", p.name, p.logPath)
	}
	return fmt.Errorf("%s exited: %w; see %s", p.name, p.err, p.logPath)
}

// stop sends SIGTERM to the process's group, waits up to timeout, then
// sends SIGKILL. The group, not the process, so that helpers a plugin
// started go too. It reports whether the process had to be killed.
func (p *process) stop(timeout time.Duration) error {
	if p.exited() {
		return nil
	}
	pgid := -p.pid()
	if err := syscall.Kill(pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %s: %w", p.name, err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-timer.C:
	}
	_ = syscall.Kill(pgid, syscall.SIGKILL)
	<-p.done
	return fmt.Errorf("%s did not stop within %s after SIGTERM and was killed", p.name, timeout)
}
