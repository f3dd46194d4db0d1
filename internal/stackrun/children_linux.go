package stackrun

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ChildProcesses returns the PIDs and command names of this process's
// children, read from /proc: envtest does not tell the PIDs of etcd and
// kube-apiserver, which the stack stops and the reliability harness kills.
func ChildProcesses() (map[int]string, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	self := os.Getpid()
	children := map[int]string{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone since the listing
		}
		// The command name in parentheses may hold spaces; the fields after
		// the last ")" are state and parent PID.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(self) {
			continue
		}
		start := strings.IndexByte(string(stat), '(')
		children[pid] = string(stat[start+1 : i])
	}
	return children, nil
}
