//go:build !linux

package main

import (
	"errors"
	"syscall"
)

// sysProcAttr puts a child in a process group of its own, so that a Ctrl-C
// on the terminal reaches only the stack, which then stops the children in
// order. Only Linux can also kill the children when the stack dies.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func setParentDeathSignal() error {
	return errors.New("the parent-death signal needs Linux")
}
