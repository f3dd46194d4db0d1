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
