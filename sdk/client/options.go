package client

import (
	"net/http"
	"time"
)

// DefaultTimeout bounds each call when Options.Timeout is zero. It is longer
// than a shim's usual wait for the first execute of a synchronous invoke.
const DefaultTimeout = 60 * time.Second

// Options configure a Client. The zero value is usable.
type Options struct {
	// HTTPClient sends the requests; nil means a fresh http.Client. Its own
	// Timeout, if any, applies on top of Timeout below.
	HTTPClient *http.Client
	// BearerToken, when set, is sent as "Authorization: Bearer <token>" to
	// the shim (never to another host, see CallbackURL).
	BearerToken string
	// AppCode is the calling platform's app code (X-Bkplugin-App-Code); the
	// shim checks a plugin's allow_scope against it.
	AppCode string
	// Username is the user the platform calls for (X-Bkplugin-Username).
	Username string
	// Scope is sent on every call as Bkplugin-Scope-Type/-Value when set;
	// InvokeOptions.Scope overrides it for one invoke.
	Scope Scope
	// Timeout bounds each call, including reading the answer. Zero means
	// DefaultTimeout; negative means no bound beyond the call's context.
	Timeout time.Duration
	// UserAgent replaces the default User-Agent.
	UserAgent string
	// RetryGET, when set, retries GET calls (meta, detail, schedule, logs,
	// the plugin list) on transport errors and on 429, 502, 503 and 504.
	// Nil means no retries.
	RetryGET *RetryOptions
}

// Scope is the business scope a call is made in, checked by the Python
// framework against the plugin's allow_scope for the calling app.
type Scope struct {
	// Type is the scope type, such as "project".
	Type string
	// Value is the scope value, such as a project id.
	Value string
}

func (s Scope) isZero() bool { return s.Type == "" && s.Value == "" }

// RetryOptions tune the opt-in retries of GET calls (exponential backoff
// with jitter). Zero fields take the defaults noted.
type RetryOptions struct {
	// MaxTries counts all attempts, the first included; zero means 4.
	MaxTries uint
	// InitialInterval is the first wait; zero means 200ms.
	InitialInterval time.Duration
	// MaxInterval caps one wait; zero means 5s.
	MaxInterval time.Duration
}
