package shim

import (
	"net/http"
	"testing"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

func TestCheckScope(t *testing.T) {
	sops := bkv1.AllowScope{AppCode: "bk_sops", ScopeType: "project", ScopeValues: []string{"1", "2"}}
	everyone := bkv1.AllowScope{ScopeType: "biz", ScopeValues: []string{"*"}}
	tests := []struct {
		name            string
		rules           []bkv1.AllowScope
		app, typ, value string
		allowed         bool
	}{
		{"no rules", nil, "bk_sops", "", "", true},
		{"app not named passes", []bkv1.AllowScope{sops}, "bk_job", "", "", true},
		{"no verified app is refused by any rule", []bkv1.AllowScope{sops}, "", "project", "1", false},
		{"app code is matched exactly", []bkv1.AllowScope{sops}, "BK_SOPS", "", "", true},
		{"named app in an allowed value", []bkv1.AllowScope{sops}, "bk_sops", "project", "2", true},
		{"named app in another value", []bkv1.AllowScope{sops}, "bk_sops", "project", "3", false},
		{"named app with another type", []bkv1.AllowScope{sops}, "bk_sops", "biz", "1", false},
		{"named app without headers", []bkv1.AllowScope{sops}, "bk_sops", "", "", false},
		{"type matches but value empty", []bkv1.AllowScope{sops}, "bk_sops", "project", "", false},
		{"rule for every app binds an unnamed app", []bkv1.AllowScope{everyone}, "bk_job", "project", "1", false},
		{"wildcard accepts any value of its type", []bkv1.AllowScope{everyone}, "bk_job", "biz", "42", true},
		{"wildcard needs a value", []bkv1.AllowScope{everyone}, "bk_job", "biz", "", false},
		{"either of two matching rules", []bkv1.AllowScope{sops, everyone}, "bk_sops", "biz", "9", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkScope(tt.rules, tt.app, tt.typ, tt.value)
			if tt.allowed {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("allowed, want refused")
			}
			if status, _ := statusOf(err); status != http.StatusForbidden {
				t.Errorf("status = %d, want 403", status)
			}
		})
	}
}
