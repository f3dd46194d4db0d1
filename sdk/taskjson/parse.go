package taskjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// Parse reads a task.json file into a description. A full BK-CI task.json
// also has atomCode, execution and other keys about building and starting
// the plugin; they mean nothing to the operator and are ignored. Parse does
// not Check the description.
func Parse(b []byte) (*v1alpha1.TaskDescription, error) {
	var d v1alpha1.TaskDescription
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("parse task.json: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("parse task.json: unexpected data after the JSON object")
	}
	return &d, nil
}

// MustParse is Parse followed by Check, for a task.json embedded in a
// plugin (go:embed), where a bad file is a programming error; it panics on
// error.
func MustParse(b []byte) *v1alpha1.TaskDescription {
	d, err := Parse(b)
	if err != nil {
		panic(err)
	}
	if err := Check(d); err != nil {
		panic(err)
	}
	return d
}
