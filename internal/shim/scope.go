package shim

import (
	"net/http"
	"slices"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// scopeWildcard in a rule's scopeValues accepts any value of its type.
const scopeWildcard = "*"

// checkScope applies a version's allowScopes to a call, as the Python
// framework's ScopeAllowPermission does: an app no rule names passes; an app
// that rules name must send the scope type and value of one of them. A rule
// without an app code names every app. appCode is the verified one
// (callerOf); a version with any rule refuses a call with none, because a
// caller who cannot say who it is could otherwise be any app.
func checkScope(rules []bkv1.AllowScope, appCode, scopeType, scopeValue string) error {
	if len(rules) > 0 && appCode == "" {
		return errorf(http.StatusForbidden,
			"this plugin declares allow_scope, so a call must come from a verified app: through the BlueKing API gateway (X-Bkapi-JWT with a verified app) or with a bearer token mapped to an app code")
	}
	matched := false
	for _, r := range rules {
		if r.AppCode != "" && r.AppCode != appCode {
			continue
		}
		matched = true
		if scopeType == r.ScopeType && scopeValue != "" &&
			(slices.Contains(r.ScopeValues, scopeValue) || slices.Contains(r.ScopeValues, scopeWildcard)) {
			return nil
		}
	}
	if !matched {
		return nil
	}
	app := appCode
	if app == "" {
		app = "(none)"
	}
	return errorf(http.StatusForbidden,
		"app %s may not invoke this plugin in scope type %q value %q: allow_scope permits only %s",
		app, scopeType, scopeValue, describeRules(rules, appCode))
}

// describeRules lists the scopes the app may call from, for the refusal.
func describeRules(rules []bkv1.AllowScope, appCode string) string {
	var out string
	for _, r := range rules {
		if r.AppCode != "" && r.AppCode != appCode {
			continue
		}
		if out != "" {
			out += " or "
		}
		out += r.ScopeType + " " + formatValues(r.ScopeValues)
	}
	return out
}

func formatValues(vs []string) string {
	const max = 10
	if len(vs) > max {
		return "[" + joinQuoted(vs[:max]) + ", ...]"
	}
	return "[" + joinQuoted(vs) + "]"
}

func joinQuoted(vs []string) string {
	s := ""
	for i, v := range vs {
		if i > 0 {
			s += ", "
		}
		s += `"` + v + `"`
	}
	return s
}
