package pluginexec

import (
	"encoding/json"
	"fmt"

	"github.com/bkplugin/bk-plugin-operator/internal/sensitive"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// MaskAnswer makes a plugin's answer fit for status, logs and the archive,
// in place: the sensitive outputs (names from the version's task.json) are
// taken out and masked, and every sensitive value, input or output, is
// scrubbed from the error and the log lines. It returns the sensitive
// outputs in clear, which go to the invocation's Secret (or, for a call
// answered at once, only to its caller).
func MaskAnswer(answer *protocol.ExecuteResponse, sensitiveInputs map[string]json.RawMessage, sensitiveOutputs []string) (map[string]json.RawMessage, error) {
	masked, secretOutputs, err := sensitive.SplitOutputs(answer.Outputs, sensitiveOutputs)
	if err != nil {
		return nil, fmt.Errorf("mask sensitive outputs: %w", err)
	}
	answer.Outputs = masked
	answer.Error = sensitive.Scrub(answer.Error, sensitiveInputs, secretOutputs)
	for i, line := range answer.Logs {
		answer.Logs[i] = sensitive.Scrub(line, sensitiveInputs, secretOutputs)
	}
	return secretOutputs, nil
}

// ScrubbedError is an error whose text had its sensitive values masked; it
// unwraps to the original, so that decisions still see its type.
type ScrubbedError struct {
	// Err is the original error.
	Err error
	// Msg is its text, scrubbed.
	Msg string
}

func (e *ScrubbedError) Error() string { return e.Msg }

// Unwrap returns the original error.
func (e *ScrubbedError) Unwrap() error { return e.Err }

// Scrubbed returns err with every sensitive input scrubbed from its text: a
// pod's error answer may quote its inputs.
func Scrubbed(err error, sensitiveInputs map[string]json.RawMessage) error {
	if err == nil {
		return nil
	}
	return &ScrubbedError{Err: err, Msg: sensitive.Scrub(err.Error(), sensitiveInputs)}
}
