package controllers

import (
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/types"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/schema"
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
	c.entries[plv.UID] = e
	return e, nil
}

// validateInputs checks an invocation's inputs and context against its
// version's schemas; the error names every offending field.
func (c *schemaCache) validateInputs(plv *bkv1.PluginVersion, inv *bkv1.PluginInvocation) error {
	s, err := c.get(plv)
	if err != nil {
		return err
	}
	return schema.NewInputsError(s.inputs.Validate(raw(inv.Spec.Inputs)), s.context.Validate(raw(inv.Spec.Context)))
}
