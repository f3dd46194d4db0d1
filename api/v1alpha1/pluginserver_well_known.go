package v1alpha1

// ServerServicePort is the port of a PluginServer's Service; PluginVersions
// naming the server call http://<server>.<namespace>.svc:80, whatever port
// the container listens on.
const ServerServicePort int32 = 80

// LabelServer is set on a PluginServer's Deployment, pods, Service and
// autoscaler to the server's name; the Deployment and Service select pods by it.
const LabelServer = "bkplugin.io/server"

// RetireFinalizer holds a PluginVersion or PluginServer that live
// invocations still use, until they finish or the grace period passes.
const RetireFinalizer = "bkplugin.io/retire"

// ServiceRef returns the Service the endpoint calls: its service, or the
// Service a PluginServer named by server owns (named after the server, on
// ServerServicePort); nil for a URL endpoint.
func (e *PluginEndpoint) ServiceRef() *ServiceReference {
	switch {
	case e.Service != nil:
		return e.Service
	case e.Server != nil:
		return &ServiceReference{Name: e.Server.Name, Port: ServerServicePort}
	default:
		return nil
	}
}
