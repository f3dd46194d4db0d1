package stackrun

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
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

// userHZ is the unit of the CPU times in /proc/<pid>/stat: clock ticks of
// USER_HZ, 100 a second on every Linux architecture (the kernel scales them
// to it whatever its own HZ).
const userHZ = 100

// CPUTime is the CPU a process has used so far, user plus system
// (/proc/<pid>/stat utime + stime), so that a benchmark can tell what a
// phase cost each process of a stack.
func CPUTime(pid int) (time.Duration, error) {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, fmt.Errorf("CPU time of process %d: %w", pid, err)
	}
	// After the command name's ")": state (field 3) ... utime (14), stime (15).
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return 0, fmt.Errorf("CPU time of process %d: no command name in %q", pid, stat)
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("CPU time of process %d: %d fields in /proc/%d/stat", pid, len(fields)+2, pid)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("CPU time of process %d: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}
