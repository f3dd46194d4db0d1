package archivetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNotInstalled means no PostgreSQL server binaries were found.
var ErrNotInstalled = errors.New("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin " +
	"(install Debian's postgresql package: make postgresql)")

// superuser is the role initdb creates; the server trusts local connections.
const superuser = "bk"

// Server is a running PostgreSQL server in a temporary directory.
type Server struct {
	dir  string
	port int
	bin  string
	cred *syscall.Credential
	cmd  *exec.Cmd
	exit chan struct{} // closed when the server process ends
	dbs  atomic.Int64  // numbers the databases NewDatabase creates
}

// BinDir returns the newest /usr/lib/postgresql/<major>/bin holding initdb
// and postgres, or ErrNotInstalled. $BKPLUGIN_PG_BIN overrides the search.
func BinDir() (string, error) {
	if d := os.Getenv("BKPLUGIN_PG_BIN"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			return "", fmt.Errorf("BKPLUGIN_PG_BIN=%s: %w", d, err)
		}
		return d, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(matches, func(i, j int) bool { return majorOf(matches[i]) > majorOf(matches[j]) })
	for _, m := range matches {
		d := filepath.Dir(m)
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	return "", ErrNotInstalled
}

// majorOf returns the major version in /usr/lib/postgresql/<major>/bin/initdb.
func majorOf(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

// Start runs initdb and starts a server on a free loopback port. Stop it
// with Stop. It returns ErrNotInstalled when the binaries are missing.
func Start(ctx context.Context) (*Server, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bkplugin-pg-")
	if err != nil {
		return nil, err
	}
	cred, err := credential(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", superuser,
		"-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb in %s: %w\n%s", data, err, out)
	}
	// A port found free may be taken before the server binds it: try again.
	for attempt := 1; ; attempt++ {
		s, err := startServer(ctx, bin, dir, cred, 0)
		if err == nil {
			return s, nil
		}
		if attempt == 3 {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
}

// startServer starts postgres on port (a free one when 0) and waits until
// it answers.
func startServer(ctx context.Context, bin, dir string, cred *syscall.Credential, port int) (*Server, error) {
	if port == 0 {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		port = p
	}
	logPath := filepath.Join(dir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	// Test data only: no fsync; the server dies with the test (Pdeathsig).
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", filepath.Join(dir, "data"),
		"-k", dir, "-p", strconv.Itoa(port), "-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr(cred)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	s := &Server{dir: dir, port: port, bin: bin, cred: cred, cmd: cmd, exit: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.exit) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, s.DSN("postgres"))
		if err == nil {
			_ = conn.Close(ctx)
			return s, nil
		}
		select {
		case <-s.exit:
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("postgres on port %d exited: %s", port, tail(out))
		case <-ctx.Done():
			s.kill()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("postgres on port %d did not answer in 60s: %v: %s", port, err, tail(out))
		}
	}
}

// tail returns the end of a log, for messages.
func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	return s
}

// freePort returns a loopback port nobody listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// DSN returns the URL of database db on the server.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", superuser, s.port, db)
}

// NewDatabase creates an empty database for one test, drops it when the
// test ends, and returns its DSN.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	name := "test_" + strconv.FormatInt(s.dbs.Add(1), 10)
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		t.Fatalf("connect to the test PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, s.DSN("postgres"))
		if err != nil {
			t.Errorf("connect to the test PostgreSQL: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return s.DSN(name)
}

// Stop shuts the server down (fast shutdown) and removes its directory.
func (s *Server) Stop() error {
	if s == nil {
		return nil
	}
	_ = s.Halt()
	return os.RemoveAll(s.dir)
}

// Halt stops the server (fast shutdown) and keeps its data, so that a test
// can see what its clients do while the database is down; Resume starts it
// again on the same port.
func (s *Server) Halt() error {
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.exit:
		return nil
	case <-time.After(30 * time.Second):
		s.kill()
		return errors.New("postgres did not stop in 30s: killed")
	}
}

// Resume starts a halted server again, on the same port and data.
func (s *Server) Resume(ctx context.Context) error {
	n, err := startServer(ctx, s.bin, s.dir, s.cred, s.port)
	if err != nil {
		return err
	}
	s.cmd, s.exit = n.cmd, n.exit
	return nil
}

// kill ends the server at once.
func (s *Server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exit
}

// Shared starts one server for a whole test binary, on first use. Use it
// from a package-level variable of a _test.go file and Stop it in TestMain
// after m.Run.
type Shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Database returns the DSN of a new database for t on the shared server,
// starting the server on first use. Without binaries it skips t, or fails
// it when CI=true.
func (sh *Shared) Database(t testing.TB) string {
	t.Helper()
	sh.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		sh.srv, sh.err = Start(ctx)
	})
	if sh.err != nil {
		SkipOrFail(t, sh.err)
	}
	return sh.srv.NewDatabase(t)
}

// Stop stops the shared server if it was started.
func (sh *Shared) Stop() error { return sh.srv.Stop() }

// Postgres starts a server for t alone and returns the DSN of an empty
// database on it; the server stops when t ends.
func Postgres(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx)
	if err != nil {
		SkipOrFail(t, err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop the test PostgreSQL: %v", err)
		}
	})
	return s.NewDatabase(t)
}

// SkipOrFail ends t because PostgreSQL could not start: a skip when the
// binaries are missing outside CI, a failure otherwise.
func SkipOrFail(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") != "true" {
		t.Skipf("skipping the PostgreSQL tests: %v", err)
		return
	}
	t.Fatalf("PostgreSQL for tests: %v", err)
}
