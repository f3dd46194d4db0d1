//go:build envtest

package archive_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/archive/archivetest"
)

// TestDeferredWaitsForADownDatabase starts a real PostgreSQL, stops it, and
// checks that a Deferred archive answers ErrUnavailable while it is down and
// opens by itself once it is back.
func TestDeferredWaitsForADownDatabase(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := archivetest.Start(ctx)
	if err != nil {
		archivetest.SkipOrFail(t, err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	dsn := srv.NewDatabase(t)
	if err := srv.Halt(); err != nil {
		t.Fatal(err)
	}
	failures := make(chan error, 100)
	d, err := archive.OpenDeferred(ctx, dsn, archive.Options{}, archive.DeferredOptions{
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		OnError: func(err error, _ time.Duration) {
			select {
			case failures <- err:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	<-failures // one attempt failed on the stopped server
	rec := record("ns", "trace-down", 1)
	if err := d.Put(ctx, rec); !errors.Is(err, archive.ErrUnavailable) {
		t.Fatalf("Put while down: %v, want ErrUnavailable", err)
	}
	if _, err := d.Get(ctx, rec.Key); !errors.Is(err, archive.ErrUnavailable) || errors.Is(err, archive.ErrNotFound) {
		t.Fatalf("Get while down: %v, want ErrUnavailable and not ErrNotFound", err)
	}
	if err := srv.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.Ready():
	case <-ctx.Done():
		t.Fatal("the archive did not open after the database came back")
	}
	if err := d.Put(ctx, rec); err != nil {
		t.Fatalf("Put after the database came back: %v", err)
	}
	if _, err := d.Get(ctx, rec.Key); err != nil {
		t.Fatalf("Get: %v", err)
	}
}

func TestDeferredRefusesABadDSNAtOnce(t *testing.T) {
	for _, dsn := range []string{"", "mysql://x", "sqlite://host/x.db", "sqlite:///tmp/x.db?mode=ro", "postgres://u@h:notaport/db"} {
		if _, err := archive.OpenDeferred(context.Background(), dsn, archive.Options{}, archive.DeferredOptions{}); !errors.Is(err, archive.ErrInvalid) {
			t.Errorf("OpenDeferred(%q): %v, want ErrInvalid", dsn, err)
		}
	}
}

func TestDeferredOpensSQLite(t *testing.T) {
	d, err := archive.OpenDeferred(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "h.db"), archive.Options{}, archive.DeferredOptions{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("sqlite archive did not open")
	}
	if err := d.Put(context.Background(), record("ns", "t", 1)); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Put(context.Background(), record("ns", "t", 1)); !errors.Is(err, archive.ErrClosed) {
		t.Fatalf("Put after Close: %v, want ErrClosed", err)
	}
}
