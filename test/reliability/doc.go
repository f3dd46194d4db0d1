// Package reliability proves what survives which failure. Its test starts
// etcd and kube-apiserver (envtest), then the manager, the shim and a
// recording plugin (./recorder) as real processes on loopback, each
// component as a user bound only to its generated ClusterRole, and:
//
//   - kills the manager with SIGKILL while invocations wait in POLL and
//     CALLBACK, delivers callbacks while it is down, restarts it, and checks
//     every invocation's result, that no poll came early and how many
//     executes were repeated;
//   - kills the shim during invokes and retries with the same trace ids;
//   - has plugin pods answer 500s, hang, close the connection and answer
//     garbage;
//   - restarts kube-apiserver under load;
//   - sends hostile bodies; and checks that no key or token reached a log.
//
// It prints a table: fault, invocations, lost, repeated executes, early
// executes, time to recover. It runs only when RELIABILITY=1 (make
// test-reliability); RELIABILITY_SCALE sets how many invocations the manager
// crash uses (default 500). docs/reliability.md states the guarantees.
package reliability
