package main

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr puts a child in a process group of its own, so that a Ctrl-C
// on the terminal reaches only the stack, which then stops the children in
// order; and has the kernel kill the child if the stack dies, even by kill -9.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// setParentDeathSignal has the kernel kill the calling thread's process when
// its parent dies.
func setParentDeathSignal() error {
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("set the parent-death signal: %w", err)
	}
	return nil
}
