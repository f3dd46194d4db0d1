package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// controlPlaneBinaries are the envtest binaries started through a
// re-execution of this program, see execControlPlaneBinary.
var controlPlaneBinaries = []string{"etcd", "kube-apiserver"}

// controlPlane is etcd plus kube-apiserver with the CRDs installed.
type controlPlane struct {
	env    *envtest.Environment
	config *rest.Config
	logs   []*os.File
}

// startControlPlane starts etcd and kube-apiserver with envtest, writing
// their output to etcd.log and kube-apiserver.log in logsDir, and installs
// the CRDs.
//
// envtest starts its binaries without a parent-death signal, so a kill -9 of
// this program would leave them running. They are therefore started through
// symbolic links to this very program in runDir, which set the signal and
// then exec the real binary (execControlPlaneBinary).
func startControlPlane(cfg config, runDir, logsDir string) (*controlPlane, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this program to wrap the control plane: %w", err)
	}
	wrapDir := filepath.Join(runDir, "controlplane")
	if err := os.MkdirAll(wrapDir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", wrapDir, err)
	}
	cp := &controlPlane{}
	paths := map[string]string{}
	for _, name := range controlPlaneBinaries {
		real := filepath.Join(cfg.assetsDir, name)
		if _, err := os.Stat(real); err != nil {
			return nil, fmt.Errorf("no %s in %s: run hack/setup-envtest.sh to provision it: %w", name, cfg.assetsDir, err)
		}
		link := filepath.Join(wrapDir, name)
		if err := os.Symlink(self, link); err != nil {
			return nil, fmt.Errorf("wrap %s: %w", name, err)
		}
		target := strconv.Itoa(os.Getpid()) + "\n" + real
		if err := os.WriteFile(link+".target", []byte(target), 0o600); err != nil {
			return nil, fmt.Errorf("wrap %s: %w", name, err)
		}
		paths[name] = link
		f, err := os.Create(filepath.Join(logsDir, name+".log"))
		if err != nil {
			return nil, fmt.Errorf("create the log of %s: %w", name, err)
		}
		cp.logs = append(cp.logs, f)
	}
	cp.env = &envtest.Environment{
		CRDDirectoryPaths:     []string{cfg.crdDir},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: cfg.assetsDir,
		ControlPlane: envtest.ControlPlane{
			Etcd:      &envtest.Etcd{Path: paths["etcd"], Out: cp.logs[0], Err: cp.logs[0]},
			APIServer: &envtest.APIServer{Path: paths["kube-apiserver"], Out: cp.logs[1], Err: cp.logs[1]},
		},
		// A cold start on a busy 2-core machine takes longer than envtest's
		// 20 s default.
		ControlPlaneStartTimeout: time.Minute,
		ControlPlaneStopTimeout:  cfg.stopTimeout,
	}
	cp.config, err = cp.env.Start()
	if err != nil {
		cp.closeLogs()
		return nil, fmt.Errorf("start etcd and kube-apiserver (see %s): %w", logsDir, err)
	}
	return cp, nil
}

// writeKubeconfig provisions a cluster-admin user and writes its kubeconfig.
func (cp *controlPlane) writeKubeconfig(path string) error {
	user, err := cp.env.AddUser(envtest.User{Name: "localstack-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("provision the kubeconfig's user: %w", err)
	}
	b, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("render the kubeconfig: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("write the kubeconfig: %w", err)
	}
	return nil
}

// stop stops kube-apiserver and etcd and removes their data.
func (cp *controlPlane) stop() error {
	defer cp.closeLogs()
	if err := cp.env.Stop(); err != nil {
		return fmt.Errorf("stop etcd and kube-apiserver: %w", err)
	}
	return nil
}

func (cp *controlPlane) closeLogs() {
	for _, f := range cp.logs {
		_ = f.Close()
	}
}

// execControlPlaneBinary runs when this program was started through one of
// the links startControlPlane makes: it asks the kernel to kill the process
// when the stack dies and execs the real binary, keeping the PID envtest
// knows. Otherwise it returns at once.
func execControlPlaneBinary() {
	name := filepath.Base(os.Args[0])
	isWrapped := false
	for _, n := range controlPlaneBinaries {
		isWrapped = isWrapped || n == name
	}
	if !isWrapped {
		return
	}
	b, err := os.ReadFile(os.Args[0] + ".target")
	if err != nil {
		fmt.Fprintf(os.Stderr, "localstack: %s started without its target file: %v\n", name, err)
		os.Exit(127)
	}
	parent, real, _ := strings.Cut(string(b), "\n")
	// The death signal belongs to the calling thread and survives exec only
	// on that thread, so both must happen on the same one.
	runtime.LockOSThread()
	if err := setParentDeathSignal(); err != nil {
		fmt.Fprintf(os.Stderr, "localstack: %s: %v\n", name, err)
		os.Exit(127)
	}
	// The stack may have died before the signal was armed.
	if strconv.Itoa(os.Getppid()) != parent {
		os.Exit(1)
	}
	err = syscall.Exec(real, append([]string{real}, os.Args[1:]...), os.Environ())
	fmt.Fprintf(os.Stderr, "localstack: exec %s: %v\n", real, err)
	os.Exit(127)
}
