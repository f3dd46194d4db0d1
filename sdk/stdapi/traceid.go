package stdapi

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// TraceIDLength is the length of a trace id: 32 lowercase hex characters, as
// the Python framework's uuid4().hex. The shim names the PluginInvocation
// after it, so it must also be a valid Kubernetes object name.
const TraceIDLength = 32

// NewTraceID returns a fresh random trace id.
func NewTraceID() (string, error) {
	var b [TraceIDLength / 2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate trace id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// ValidTraceID reports whether s is 32 lowercase hex characters. Upper case is
// refused because object names in Kubernetes are lower case.
func ValidTraceID(s string) bool {
	if len(s) != TraceIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
