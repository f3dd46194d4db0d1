// Package server reconciles PluginServers: it owns a Deployment, a Service
// and, when autoscaling bounds allow it, a HorizontalPodAutoscaler per server,
// rolls the Deployment out when the spec changes, reports availability in
// status (which the PluginVersions naming the server follow) and holds a
// deleted server while live invocations of its versions still run.
//
// The decisions are pure functions in their own files: desired.go builds
// the objects a spec asks for, drift.go says whether an existing object must
// change, status.go turns the Deployment's status into the server's. The
// reconciler loads, decides, applies, and writes status once.
package server
