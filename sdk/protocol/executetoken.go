package protocol

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"time"
)

// ExecuteTokenFile is the execute token (ExecuteTokenEnv) read from a file
// that may change: a Secret rotated under a running pod or manager. Both
// sides read it through this type so that they agree on the format (the
// token, surrounding white space ignored) and on how soon a new one counts.
type ExecuteTokenFile struct {
	path string

	mu      sync.Mutex
	token   string
	checked time.Time
}

// executeTokenRecheck bounds how often the file is read again.
const executeTokenRecheck = time.Second

// OpenExecuteTokenFile reads the token at path; an unreadable or empty
// file is an error, so that a mistake is found at start, not at the first
// refused execute.
func OpenExecuteTokenFile(path string) (*ExecuteTokenFile, error) {
	tok, err := readExecuteToken(path)
	if err != nil {
		return nil, err
	}
	return &ExecuteTokenFile{path: path, token: tok, checked: time.Now()}, nil
}

func readExecuteToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read execute token: %w", err)
	}
	tok := string(bytes.TrimSpace(b))
	if tok == "" {
		return "", fmt.Errorf("execute token file %s is empty", path)
	}
	return tok, nil
}

// Token returns the current token, rereading the file at most once a
// second; a reread that fails keeps the last good token.
func (f *ExecuteTokenFile) Token() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if time.Since(f.checked) >= executeTokenRecheck {
		f.checked = time.Now()
		if tok, err := readExecuteToken(f.path); err == nil {
			f.token = tok
		}
	}
	return f.token
}
