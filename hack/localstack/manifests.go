package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// applyPluginVersions registers a plugin's versions the way a plugin author
// would: from the binary's own `manifest` output, so the schemas come from
// the code. It returns how many PluginVersions it created.
func applyPluginVersions(ctx context.Context, c client.Client, bin, url, namespace string) (int, error) {
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "manifest", "--url", url, "--namespace", namespace)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%s manifest: %w: %s", bin, err, bytes.TrimSpace(errOut.Bytes()))
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(&out, 4096)
	n := 0
	for {
		var obj unstructured.Unstructured
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, fmt.Errorf("decode the manifest of %s: %w", bin, err)
		}
		if len(obj.Object) == 0 {
			continue // an empty document between separators
		}
		if err := c.Create(ctx, &obj); err != nil {
			return n, fmt.Errorf("create %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		n++
	}
}
