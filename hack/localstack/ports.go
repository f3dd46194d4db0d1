package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// checkAddrFree fails with advice when something already listens on addr.
func checkAddrFree(addr, envName string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%s=%s is already in use: stop what listens there or choose another, such as %s=127.0.0.1:18080", envName, addr, envName)
		}
		return fmt.Errorf("cannot listen on %s=%s: %w", envName, addr, err)
	}
	return l.Close()
}

// freePorts returns n distinct free loopback ports, none of them in avoid.
// All listeners stay open until every port is chosen, so that the kernel
// cannot hand out one port twice.
func freePorts(n int, avoid ...int) ([]int, error) {
	var ports []int
	var open []net.Listener
	defer func() {
		for _, l := range open {
			_ = l.Close()
		}
	}()
	taken := map[int]bool{}
	for _, p := range avoid {
		taken[p] = true
	}
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		open = append(open, l)
		p := l.Addr().(*net.TCPAddr).Port
		if !taken[p] {
			taken[p] = true
			ports = append(ports, p)
		}
	}
	return ports, nil
}

// portOf returns the port of a host:port address.
func portOf(addr string) (int, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("address %q is not host:port: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return 0, fmt.Errorf("address %q has no numeric port", addr)
	}
	return port, nil
}

// loopback returns 127.0.0.1:port.
func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
