package plugin

import (
	"encoding/json"
	"fmt"
)

// Storage keeps JSON values between the executes of one invocation, like the
// Python framework's context.storage. Values are stored encoded, so what Get
// returns is exactly what the next execute, on any replica, will see.
type Storage map[string]json.RawMessage

// Get decodes the value stored under key into v and reports whether there
// was one.
func (s Storage) Get(key string, v any) (bool, error) {
	raw, ok := s[key]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("storage %q: %w", key, err)
	}
	return true, nil
}

// Set stores v, which must be JSON-encodable, under key.
func (s Storage) Set(key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("storage %q: %w", key, err)
	}
	s[key] = raw
	return nil
}

// Delete removes key.
func (s Storage) Delete(key string) { delete(s, key) }
