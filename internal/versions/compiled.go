package controllers

import (
	"errors"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/types"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/schema"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// schemaCache keeps the compiled schemas of each PluginVersion, keyed by its
// UID and resourceVersion, so that a schema is compiled once per change of
// the version and not once per invocation.
type schemaCache struct {
	mu      sync.Mutex
	entries map[types.UID]compiledSchemas
}

type compiledSchemas struct {
	resourceVersion string
	inputs, context *schema.Schema
	// task evaluates the version's task.json description; nil without one.
	task *taskjson.Evaluator
	// sensitiveInputs and sensitiveOutputs are the fields it marks isSensitive.
	sensitiveInputs, sensitiveOutputs []string
}

func newSchemaCache() *schemaCache {
	return &schemaCache{entries: map[types.UID]compiledSchemas{}}
}

func (c *schemaCache) get(plv *bkv1.PluginVersion) (compiledSchemas, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[plv.UID]; ok && e.resourceVersion == plv.ResourceVersion {
		return e, nil
	}
	in, err := schema.Compile(raw(plv.Spec.Inputs))
	if err != nil {
		return compiledSchemas{}, fmt.Errorf("PluginVersion %s has an invalid inputs schema: %w", plv.Name, err)
	}
	ctx, err := schema.Compile(raw(plv.Spec.ContextInputs))
	if err != nil {
		return compiledSchemas{}, fmt.Errorf("PluginVersion %s has an invalid context inputs schema: %w", plv.Name, err)
	}
	e := compiledSchemas{resourceVersion: plv.ResourceVersion, inputs: in, context: ctx}
	if d := plv.Spec.TaskJSON; d != nil {
		e.task, err = taskjson.Compile(d)
		if err != nil {
			return compiledSchemas{}, fmt.Errorf("PluginVersion %s has an invalid task.json description: %w", plv.Name, err)
		}
		e.sensitiveInputs, e.sensitiveOutputs = taskjson.SensitiveInputs(d), taskjson.SensitiveOutputs(d)
	}
	c.entries[plv.UID] = e
	return e, nil
}

// validateInputs checks an invocation's inputs (sensitive ones included)
// and context against its version's task.json description and schemas;
// the one error names every offending field, and never a value.
func (s compiledSchemas) validateInputs(inputs, context []byte) error {
	var problems []schema.Problem
	if s.task != nil {
		normalized, err := s.task.Evaluate(inputs)
		var ve *taskjson.ViolationsError
		switch {
		case errors.As(err, &ve):
			problems = append(problems, ve.Problems()...)
		case err != nil:
			return err
		default:
			inputs = normalized
		}
	}
	err := schema.NewInputsError(s.inputs.Validate(inputs), s.context.Validate(context))
	var ie *schema.InputsError
	if errors.As(err, &ie) {
		problems = append(problems, ie.Problems...)
	} else if err != nil {
		return err
	}
	if len(problems) == 0 {
		return nil
	}
	return &schema.InputsError{Problems: dedupProblems(problems)}
}

// dedupProblems drops a schema problem the task.json rules already reported
// for the same field, such as a missing required field.
func dedupProblems(ps []schema.Problem) []schema.Problem {
	seen := map[string]bool{}
	out := ps[:0]
	for _, p := range ps {
		k := p.Field + "\x00" + p.Message
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, p)
	}
	return out
}
