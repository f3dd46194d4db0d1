//go:build envtest

package reliability

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
)

// namespace holds every PluginVersion and invocation of the harness.
const namespace = "default"

// repoRoot is the repository root, from this package's folder.
const repoRoot = "../.."

// stack is the running system: the control plane in this process's
// children, and the manager, shim and recorder as restartable processes.
type stack struct {
	// t is the running (sub)test; root owns the processes, which outlive
	// any one scenario.
	t, root *testing.T
	dir     string
	binDir  string
	logs    string
	env     *envtest.Environment
	admin   client.Client

	managerKubeconfig, shimKubeconfig string
	keyFile, tokenFile, authToken     string
	recordFile                        string
	// executeTokenFile holds the token the manager sends with every
	// execute and the recorder requires, as in a cluster.
	executeTokenFile string

	// tokens are the callback tokens the harness delivered, which must
	// never reach a log.
	tokensMu sync.Mutex
	tokens   []string

	shimAddr, pluginAddr         string
	managerProbe, managerMetrics string
	manager, shim, plugin        *child
	managerArgs, shimArgs        []string
}

// newStack builds the binaries and starts everything; t.Cleanup stops it.
func newStack(t *testing.T) *stack {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Skip("KUBEBUILDER_ASSETS is unset; make test-reliability sets it")
	}
	s := &stack{t: t, root: t, dir: t.TempDir()}
	s.binDir = filepath.Join(s.dir, "bin")
	logs := os.Getenv("RELIABILITY_LOGS")
	if logs == "" {
		logs = filepath.Join(s.dir, "logs")
	}
	if err := os.MkdirAll(logs, 0o700); err != nil {
		t.Fatal(err)
	}
	s.logs = logs
	t.Logf("process logs in %s", logs)
	build(t, s.binDir)

	// The API server's certificates live in a folder of ours, so that it
	// can be stopped and started again with the same CA: the clients'
	// certificates keep working, as they would across a real restart.
	certDir := filepath.Join(s.dir, "apiserver")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		t.Fatal(err)
	}
	cpLog, err := os.Create(filepath.Join(logs, "controlplane.log"))
	if err != nil {
		t.Fatal(err)
	}
	s.env = &envtest.Environment{
		CRDDirectoryPaths:        []string{filepath.Join(repoRoot, "config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
		BinaryAssetsDirectory:    assets,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
		ControlPlane: envtest.ControlPlane{
			Etcd:      &envtest.Etcd{Out: cpLog, Err: cpLog},
			APIServer: &envtest.APIServer{CertDir: certDir, Out: cpLog, Err: cpLog},
		},
	}
	cfg, err := s.env.Start()
	if err != nil {
		t.Fatalf("start the control plane: %v", err)
	}
	t.Cleanup(func() {
		if err := s.env.Stop(); err != nil {
			t.Logf("stop the control plane: %v", err)
		}
		_ = cpLog.Close()
	})
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := bkv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	s.admin, err = client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}

	// The manager and the shim run as users bound only to their roles.
	ctx := context.Background()
	for _, u := range []struct{ role, user, path string }{
		{"config/rbac/role.yaml", "reliability-manager", filepath.Join(s.dir, "manager.kubeconfig")},
		{"config/rbac/shim/role.yaml", "reliability-shim", filepath.Join(s.dir, "shim.kubeconfig")},
	} {
		ucfg, err := testenv.UserWithRole(ctx, s.env, s.admin, filepath.Join(repoRoot, u.role), u.user)
		if err != nil {
			t.Fatal(err)
		}
		if err := writeKubeconfig(u.path, ucfg); err != nil {
			t.Fatal(err)
		}
	}
	s.managerKubeconfig = filepath.Join(s.dir, "manager.kubeconfig")
	s.shimKubeconfig = filepath.Join(s.dir, "shim.kubeconfig")

	s.keyFile = filepath.Join(s.dir, "callback.key")
	s.tokenFile = filepath.Join(s.dir, "auth.tokens")
	s.authToken = randomHex(t, 24)
	if err := os.WriteFile(s.keyFile, []byte(randomHex(t, 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.tokenFile, []byte(s.authToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.recordFile = filepath.Join(s.dir, "executes.jsonl")
	s.executeTokenFile = filepath.Join(s.dir, "execute.token")
	if err := os.WriteFile(s.executeTokenFile, []byte(randomHex(t, 32)), 0o600); err != nil {
		t.Fatal(err)
	}

	ports := freePorts(t, 4)
	s.shimAddr, s.pluginAddr = loopback(ports[0]), loopback(ports[1])
	s.managerProbe, s.managerMetrics = loopback(ports[2]), loopback(ports[3])
	s.managerArgs = []string{
		"--metrics-bind-address", s.managerMetrics,
		"--health-probe-bind-address", s.managerProbe,
		"--leader-elect=false",
		"--callback-base-url", "http://" + s.shimAddr,
		"--callback-key-file", s.keyFile,
		"--execute-token-file", s.executeTokenFile,
		// Short enough that the fault cases end within the test, long
		// enough for several attempts.
		"--retry-budget", retryBudget.String(),
		// The history archive: a SQLite file of the stack's own.
		"--archive", "sqlite://" + filepath.Join(s.dir, "history.db"),
	}
	s.shimArgs = []string{
		// The manager's archive, as a deployment shares it: without it the
		// shim opens its default SQLite file in the working directory.
		"--archive", "sqlite://" + filepath.Join(s.dir, "history.db"),
		"--addr", s.shimAddr,
		"--namespace", namespace,
		"--callback-key-file", s.keyFile,
		"--auth-token-file", s.tokenFile,
		// Above the API server's 1.5 MiB request limit, so that the
		// harness can show what happens beyond it.
		"--max-body-bytes", strconv.Itoa(maxBodyBytes),
	}

	s.plugin = s.start("recorder", logs, []string{"serve", "--addr", s.pluginAddr, "--shutdown-delay", "0s", "--execute-token-file", s.executeTokenFile}, []string{"RECORD_FILE=" + s.recordFile})
	s.manager = s.start("manager", logs, s.managerArgs, s.managerEnv())
	s.shim = s.start("apiserver", logs, s.shimArgs, s.shimEnv())
	s.waitHTTP("recorder", "http://"+s.pluginAddr+"/readyz", s.plugin)
	s.waitHTTP("manager", "http://"+s.managerProbe+"/readyz", s.manager)
	s.waitHTTP("shim", "http://"+s.shimAddr+"/readyz", s.shim)
	s.applyRecorderVersions()
	return s
}

func (s *stack) managerEnv() []string { return []string{"KUBECONFIG=" + s.managerKubeconfig} }
func (s *stack) shimEnv() []string    { return []string{"KUBECONFIG=" + s.shimKubeconfig} }

// retryBudget is the manager's --retry-budget in the harness.
const retryBudget = 6 * time.Second

// maxBodyBytes is the shim's --max-body-bytes in the harness.
const maxBodyBytes = 3 << 20

// build compiles the manager, the shim and the recorder from this checkout.
func build(t *testing.T, dir string) {
	t.Helper()
	pkgs := []string{repoRoot + "/cmd/manager", repoRoot + "/cmd/apiserver", "./recorder"}
	cmd := exec.Command("go", append([]string{"build", "-o", dir + "/"}, pkgs...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
}

// child is one restartable process.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

// start starts binary bin of the harness with args; its output is appended
// to <logs>/<bin>.log, across restarts.
func (s *stack) start(bin, logs string, args, env []string) *child {
	s.t.Helper()
	f, err := os.OpenFile(filepath.Join(logs, bin+".log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(s.binDir, bin), args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	// Its own group, and killed by the kernel should this test die.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", bin, err)
	}
	c := &child{name: bin, cmd: cmd, done: make(chan struct{}), log: f}
	go func() {
		_ = cmd.Wait()
		_ = f.Close()
		close(c.done)
	}()
	s.root.Cleanup(func() { c.kill() })
	return c
}

// kill sends SIGKILL, as kill -9 does, and waits for the process to go.
func (c *child) kill() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.done
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// restartManager starts a new manager process with the same arguments.
func (s *stack) restartManager() {
	s.t.Helper()
	s.manager = s.start("manager", filepath.Dir(s.manager.log.Name()), s.managerArgs, s.managerEnv())
	s.waitHTTP("manager", "http://"+s.managerProbe+"/readyz", s.manager)
}

// restartShim starts a new shim process with the same arguments.
func (s *stack) restartShim() {
	s.t.Helper()
	s.shim = s.start("apiserver", filepath.Dir(s.shim.log.Name()), s.shimArgs, s.shimEnv())
	s.waitHTTP("shim", "http://"+s.shimAddr+"/readyz", s.shim)
}

// waitHTTP polls url until it answers 200, failing if c exits first.
func (s *stack) waitHTTP(name, url string, c *child) {
	s.t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second}
	err := poll(2*time.Minute, 100*time.Millisecond, func() (bool, error) {
		if c.exited() {
			return false, fmt.Errorf("%s exited; see %s", name, c.log.Name())
		}
		resp, err := hc.Get(url)
		if err != nil {
			return false, nil
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		s.t.Fatalf("%s not ready: %v", name, err)
	}
}

// poll calls cond every interval until it is true, fails, or timeout passes.
func poll(timeout, interval time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after %s", timeout)
		}
		time.Sleep(interval) // the pause between checks, not a synchronisation
	}
}

func writeKubeconfig(path string, cfg *rest.Config) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["user"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "user"}
	kc.CurrentContext = "envtest"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
