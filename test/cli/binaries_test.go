package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// result is one run of a command.
type result struct {
	stdout, stderr string
	code           int
}

// runCmd runs bin with args in dir (the test's folder when ""), with env
// added to this process's environment, and returns what it printed and its
// exit status. It fails the test only when the command cannot run at all.
func runCmd(t *testing.T, dir string, env []string, timeout time.Duration, bin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	if ctx.Err() != nil {
		t.Fatalf("%s %s did not finish within %s; stderr:\n%s", bin, strings.Join(args, " "), timeout, res.stderr)
	}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run %s: %v", bin, err)
		}
		res.code = ee.ExitCode()
	}
	return res
}
