// Package setupenvtest tests hack/setup-envtest.sh, the script that
// provisions the envtest control plane: that it says what it waits for,
// and for how long, while another clone holds its lock and while it
// builds. The build runs against a fake `go` on PATH that takes a few
// seconds per step, so the test takes seconds, not the real 7 minutes. It
// has no non-test code.
package setupenvtest
