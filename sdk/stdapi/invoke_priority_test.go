package stdapi

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestInvokePriority(t *testing.T) {
	tests := []struct {
		name, body, wantErr string
		want                *int32
	}{
		{"unset", `{"inputs":{},"context":{}}`, "", nil},
		{"high", `{"inputs":{},"context":{},"priority":1000}`, "", ptr32(1000)},
		{"low", `{"inputs":{},"context":{},"priority":-1000}`, "", ptr32(-1000)},
		{"too high", `{"inputs":{},"context":{},"priority":1001}`, "priority must be between -1000 and 1000, got 1001", nil},
		{"too low", `{"inputs":{},"context":{},"priority":-1001}`, "priority must be between -1000 and 1000, got -1001", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r InvokeRequest
			if err := json.Unmarshal([]byte(tt.body), &r); err != nil {
				t.Fatal(err)
			}
			err := r.Validate()
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Validate() = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			if (r.Priority == nil) != (tt.want == nil) || (r.Priority != nil && *r.Priority != *tt.want) {
				t.Errorf("priority = %v, want %v", r.Priority, tt.want)
			}
			out, _ := json.Marshal(r)
			if tt.want == nil && strings.Contains(string(out), "priority") {
				t.Errorf("an unset priority is sent: %s", out)
			}
		})
	}
}

func ptr32(v int32) *int32 { return &v }
