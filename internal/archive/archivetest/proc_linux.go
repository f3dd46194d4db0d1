package archivetest

import "syscall"

// sysProcAttr runs the server as cred and kills it when the test process
// dies, so that a killed test leaves no server behind.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
}
