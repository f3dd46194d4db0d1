package wirestate

import (
	"testing"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

func TestOf(t *testing.T) {
	tests := []struct {
		cr   bkv1.InvocationState
		want protocol.State
	}{
		{"", protocol.StateEmpty},
		{bkv1.StateEmpty, protocol.StateEmpty},
		{bkv1.StatePoll, protocol.StatePoll},
		{bkv1.StateCallback, protocol.StateCallback},
		{bkv1.StateSuccess, protocol.StateSuccess},
		{bkv1.StateFail, protocol.StateFail},
	}
	for _, tt := range tests {
		if got := Of(tt.cr); got != tt.want {
			t.Errorf("Of(%q) = %v, want %v", tt.cr, got, tt.want)
		}
		// The CR names its states as the wire does.
		if tt.cr != "" && Of(tt.cr).String() != string(tt.cr) {
			t.Errorf("Of(%q) is named %s on the wire", tt.cr, Of(tt.cr))
		}
	}
}

func TestAnswer(t *testing.T) {
	tests := []struct {
		cr   bkv1.InvocationState
		want protocol.State
	}{
		{"", protocol.StatePoll},
		{bkv1.StateEmpty, protocol.StatePoll},
		{bkv1.StatePoll, protocol.StatePoll},
		{bkv1.StateCallback, protocol.StateCallback},
		{bkv1.StateSuccess, protocol.StateSuccess},
		{bkv1.StateFail, protocol.StateFail},
	}
	for _, tt := range tests {
		if got := Answer(tt.cr); got != tt.want {
			t.Errorf("Answer(%q) = %v, want %v", tt.cr, got, tt.want)
		}
	}
}
