// Package restmapping memoizes REST mappings for the manager's and the
// shim's clients and caches.
//
// Both processes cache objects of chosen namespaces, and controller-runtime's
// multi-namespace cache asks the REST mapper whether a kind is namespaced on
// every Get and List. Its lazy mapper answers through a priority mapper over
// every API group it has loaded, which built and sorted mapping lists each
// time: 12.5% of the manager's CPU during synchronous invokes (pprof,
// make bench's invoke phase). The kinds these processes read never change
// scope while they run, so a mapping found once is kept.
package restmapping
