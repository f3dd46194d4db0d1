package tracing

import "testing"

func TestChooseExporter(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		want    exporterKind
		wantErr bool
	}{
		{name: "nothing set: off", env: nil, want: exportNone},
		{name: "endpoint named: otlp over http", env: map[string]string{EnvEndpoint: "http://collector:4318"}, want: exportOTLPHTTP},
		{name: "traces endpoint named", env: map[string]string{EnvTracesEndpoint: "http://collector:4318/v1/traces"}, want: exportOTLPHTTP},
		{name: "otlp asked for without endpoint", env: map[string]string{EnvTracesExporter: "otlp"}, want: exportOTLPHTTP},
		{name: "none wins over an endpoint", env: map[string]string{EnvTracesExporter: "none", EnvEndpoint: "http://c:4318"}, want: exportNone},
		{name: "sdk disabled", env: map[string]string{EnvSDKDisabled: "TRUE", EnvTracesExporter: "otlp"}, want: exportNone},
		{name: "sdk disabled false", env: map[string]string{EnvSDKDisabled: "false", EnvTracesExporter: "otlp"}, want: exportOTLPHTTP},
		{name: "grpc protocol", env: map[string]string{EnvTracesExporter: "otlp", EnvProtocol: "grpc"}, want: exportOTLPGRPC},
		{name: "traces protocol wins", env: map[string]string{EnvTracesExporter: "otlp", EnvProtocol: "grpc", EnvTracesProtocol: "http/protobuf"}, want: exportOTLPHTTP},
		{name: "list with spaces", env: map[string]string{EnvTracesExporter: " none , otlp "}, want: exportOTLPHTTP},
		{name: "unsupported exporter", env: map[string]string{EnvTracesExporter: "zipkin"}, wantErr: true},
		{name: "unsupported protocol", env: map[string]string{EnvEndpoint: "http://c:4318", EnvProtocol: "http/json"}, wantErr: true},
		{name: "protocol without exporter is ignored", env: map[string]string{EnvProtocol: "http/json"}, want: exportNone},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := chooseExporter(func(k string) string { return tc.env[k] })
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}
