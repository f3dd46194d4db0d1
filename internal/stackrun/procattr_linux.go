package stackrun

import "syscall"

// sysProcAttr has the kernel stop the local stack if its parent dies, even by
// kill -9; the stack then takes its own children with it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
