package main

import (
	"net"
	"strings"
	"testing"
)

func TestFreePortsAreDistinctAndAvoidTheShim(t *testing.T) {
	first, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	ports, err := freePorts(5, first[0])
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{first[0]: true}
	for _, p := range ports {
		if seen[p] {
			t.Fatalf("port %d handed out twice or despite avoid: %v (avoid %d)", p, ports, first[0])
		}
		seen[p] = true
	}
}

func TestCheckAddrFreeNamesTheVariable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = checkAddrFree(l.Addr().String(), "SHIM_ADDR")
	if err == nil || !strings.Contains(err.Error(), "SHIM_ADDR="+l.Addr().String()+" is already in use") {
		t.Fatalf("busy address: got %v, want an error naming SHIM_ADDR", err)
	}
	if err := checkAddrFree("127.0.0.1:0", "SHIM_ADDR"); err != nil {
		t.Fatalf("free address: %v", err)
	}
}

func TestParseFlagsNeedsAssets(t *testing.T) {
	t.Setenv("KUBEBUILDER_ASSETS", "")
	_, err := parseFlags(nil, new(strings.Builder))
	if err == nil || !strings.Contains(err.Error(), "hack/setup-envtest.sh") {
		t.Fatalf("no assets: got %v, want advice to run hack/setup-envtest.sh", err)
	}
}

// --plugin-arg passes arguments to one example plugin's serve; a name the
// stack does not run is refused, not ignored.
func TestPluginArgs(t *testing.T) {
	dir := t.TempDir()
	base := []string{"--bin-dir", dir, "--assets", dir, "--crd-dir", dir}
	cfg, err := parseFlags(append(base, "--plugin-arg", "hello=--pprof-addr=127.0.0.1:6061", "--plugin-arg", "hello=-v", "--plugin-arg", "poller=--x"), new(strings.Builder))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.pluginArgsOf("hello"), " "); got != "--pprof-addr=127.0.0.1:6061 -v" {
		t.Errorf("hello's args = %q", got)
	}
	if got := cfg.pluginArgsOf("deployer"); len(got) != 0 {
		t.Errorf("deployer's args = %q, want none", got)
	}
	for _, bad := range []string{"nosuch=--x", "hello"} {
		if _, err := parseFlags(append(base, "--plugin-arg", bad), new(strings.Builder)); err == nil || !strings.Contains(err.Error(), "--plugin-arg") {
			t.Errorf("--plugin-arg %q: got %v, want an error naming the flag", bad, err)
		}
	}
}
