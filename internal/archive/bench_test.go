//go:build envtest

package archive_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/internal/archive"
)

// The archive's sustained insert rate, reported as rows/s: each Put is a
// new hello invocation (inputs, outputs, a two-step timeline, two log
// lines), as the manager archives them. make bench reports the parallel
// figure as archive_rows_per_s.
//
//	go test ./internal/archive -run '^$' -bench Put -benchtime 10s

// BenchmarkPut is one caller putting one record after another: the rate
// of a single archiving goroutine, one transaction per Put.
func BenchmarkPut(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			a := open(b, be.dsn(b), archive.Options{})
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := a.Put(ctx, record("default", fmt.Sprintf("bench%09d", i), i)); err != nil {
					b.Fatalf("Put: %v", err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkPutParallel is many callers at once (64 goroutines on two
// cores): Puts are batched into shared transactions.
func BenchmarkPutParallel(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			a := open(b, be.dsn(b), archive.Options{})
			ctx := context.Background()
			var next atomic.Int64
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(next.Add(1))
					if err := a.Put(ctx, record("default", fmt.Sprintf("bench%09d", i), i)); err != nil {
						b.Errorf("Put: %v", err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkGetParallel is the shim's read of archived invocations (a
// schedule or an invoke retried after the invocation left the cluster):
// 50 readers at once, as make bench's soak phase reads them, over 500 rows.
//
//	go test -tags envtest ./internal/archive -run '^$' -bench GetParallel
func BenchmarkGetParallel(b *testing.B) {
	const rows = 500
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			a := open(b, be.dsn(b), archive.Options{})
			ctx := context.Background()
			for i := range rows {
				if err := a.Put(ctx, record("default", fmt.Sprintf("bench%09d", i), i)); err != nil {
					b.Fatalf("Put: %v", err)
				}
			}
			var next atomic.Int64
			b.SetParallelism(25)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(next.Add(1)) % rows
					if _, err := a.Get(ctx, archive.Key{Namespace: "default", TraceID: fmt.Sprintf("bench%09d", i)}); err != nil {
						b.Errorf("Get: %v", err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
		})
	}
}
