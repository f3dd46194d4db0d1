package compat_test

import (
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/compat"
)

// BenchmarkCompare measures one comparison of two realistic versions (the
// cost an admission webhook pays per PluginVersion write): nested $ref'd
// structs, arrays, enums and bounds, with a handful of changes.
func BenchmarkCompare(b *testing.B) {
	t := &testing.T{}
	old := compat.Version{Inputs: gen[withOptionsV1](t), ContextInputs: gen[pollsLoose](t), Outputs: gen[outV1](t)}
	new := compat.Version{Inputs: gen[withOptionsV2](t), ContextInputs: gen[pollsTight](t), Outputs: gen[outRetyped](t)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := compat.Compare(old, new); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompareHostile measures the bounded worst case: two schemas
// with 4^20 paths through their definitions.
func BenchmarkCompareHostile(b *testing.B) {
	old, new := fanOut("string"), fanOut("integer")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := compat.CompareSchemas(compat.SectionInputs, old, new); err != nil {
			b.Fatal(err)
		}
	}
}
