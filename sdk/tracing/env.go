package tracing

import (
	"fmt"
	"strings"
)

// Standard OpenTelemetry environment variables Setup reads to decide
// whether, and how, spans are exported. The OTLP exporters read the rest
// (endpoint, headers, timeout, TLS) themselves.
const (
	EnvSDKDisabled         = "OTEL_SDK_DISABLED"
	EnvTracesExporter      = "OTEL_TRACES_EXPORTER"
	EnvEndpoint            = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvTracesEndpoint      = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	EnvProtocol            = "OTEL_EXPORTER_OTLP_PROTOCOL"
	EnvTracesProtocol      = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	protocolHTTPProtobuf   = "http/protobuf"
	protocolGRPC           = "grpc"
	exporterNameOTLP       = "otlp"
	exporterNameNone       = "none"
	sdkDisabledTrueLiteral = "true"
)

// exporterKind is which span exporter the environment asks for.
type exporterKind int

const (
	// exportNone exports nothing: the default.
	exportNone exporterKind = iota
	// exportOTLPHTTP exports OTLP over HTTP (protobuf).
	exportOTLPHTTP
	// exportOTLPGRPC exports OTLP over gRPC.
	exportOTLPGRPC
)

func (k exporterKind) String() string {
	switch k {
	case exportOTLPHTTP:
		return "otlp (http/protobuf)"
	case exportOTLPGRPC:
		return "otlp (grpc)"
	default:
		return "none"
	}
}

// chooseExporter decides, from the environment alone, which exporter a
// process runs. It departs from the specification's default on purpose:
// with OTEL_TRACES_EXPORTER unset, spans are exported only when an OTLP
// endpoint is named, so that a process nobody configured never dials
// localhost:4318 and logs export failures. A value it cannot honour is an
// error naming the variable, refused at start rather than ignored.
func chooseExporter(getenv func(string) string) (exporterKind, error) {
	if strings.EqualFold(strings.TrimSpace(getenv(EnvSDKDisabled)), sdkDisabledTrueLiteral) {
		return exportNone, nil
	}
	otlp := false
	names := strings.TrimSpace(getenv(EnvTracesExporter))
	if names == "" {
		otlp = getenv(EnvEndpoint) != "" || getenv(EnvTracesEndpoint) != ""
	} else {
		for _, n := range strings.Split(names, ",") {
			switch n = strings.ToLower(strings.TrimSpace(n)); n {
			case exporterNameOTLP:
				otlp = true
			case exporterNameNone, "":
			default:
				return exportNone, fmt.Errorf("%s=%q: exporter %q is not supported; use %q or %q",
					EnvTracesExporter, names, n, exporterNameOTLP, exporterNameNone)
			}
		}
	}
	if !otlp {
		return exportNone, nil
	}
	name, proto := EnvTracesProtocol, strings.TrimSpace(getenv(EnvTracesProtocol))
	if proto == "" {
		name, proto = EnvProtocol, strings.TrimSpace(getenv(EnvProtocol))
	}
	switch strings.ToLower(proto) {
	case "", protocolHTTPProtobuf:
		return exportOTLPHTTP, nil
	case protocolGRPC:
		return exportOTLPGRPC, nil
	default:
		return exportNone, fmt.Errorf("%s=%q: protocol is not supported; use %q or %q", name, proto, protocolHTTPProtobuf, protocolGRPC)
	}
}
