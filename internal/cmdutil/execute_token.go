package cmdutil

import (
	"fmt"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// ExecuteToken opens --execute-token-file, the token plugin pods check on
// every execute, for both binaries that execute (the manager, and the shim
// on the direct path). "" is no token: nil.
func ExecuteToken(path string) (func() string, error) {
	if path == "" {
		return nil, nil
	}
	f, err := protocol.OpenExecuteTokenFile(path)
	if err != nil {
		return nil, fmt.Errorf("--execute-token-file: %w", err)
	}
	return f.Token, nil
}
