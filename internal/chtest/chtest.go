// Package chtest gives tests a real ClickHouse server: the one `make test`
// started (CALLPULSE_TEST_CLICKHOUSE=host:port), or a private
// clickhouse-server process on a free loopback port with its data in a temp
// dir. Each test gets its own database, dropped afterwards.
//
// When no server can be had the test is skipped locally, but fails when
// CI=true: in CI a missing server is an error, never a skip.
package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/callpulse/callpulse/internal/freeport"
)

// EnvAddr names the variable with the address of a running test server.
const EnvAddr = "CALLPULSE_TEST_CLICKHOUSE"

// Unavailable fails the test in CI and skips it elsewhere.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: a test that needs a server must not skip)", msg)
	}
	t.Skipf("%s; run 'make test' to install and start it", msg)
}

// Addr returns host:port of a ClickHouse server for the test.
func Addr(t testing.TB) string {
	t.Helper()
	if addr := os.Getenv(EnvAddr); addr != "" {
		return addr
	}
	return Start(t).Addr()
}

// NewDatabase returns a DSN for a fresh, uniquely named database on the
// test server (the database itself is created by the code under test, via
// migrations) and drops it when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return DatabaseOn(t, Addr(t))
}

// DatabaseOn is NewDatabase on a given server.
func DatabaseOn(t testing.TB, addr string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "cptest_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}})
		if err != nil {
			return
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
	})
	return fmt.Sprintf("clickhouse://%s/%s", addr, name)
}

// Server is a private clickhouse-server process.
type Server struct {
	t    testing.TB
	dir  string
	port int
	opts Options
	cmd  *exec.Cmd
	done chan struct{}
}

// Options configure a private server started with StartWith.
type Options struct {
	// Port is the native-protocol port; 0 picks a free one. A cluster's
	// servers need their ports before any of them starts.
	Port int
	// Config is XML added inside <yandex> of the server's config.xml, such
	// as a cluster definition (internal/chcluster).
	Config string
}

// Start runs a private clickhouse-server for this test; it is stopped when
// the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with options.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	if _, err := exec.LookPath("clickhouse-server"); err != nil {
		Unavailable(t, "clickhouse-server is not installed")
	}
	if opts.Port == 0 {
		opts.Port = freeport.For(t)
	}
	s := &Server{t: t, dir: t.TempDir(), port: opts.Port, opts: opts}
	s.writeConfig()
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// Addr is the server's native-protocol address.
func (s *Server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

// Dir is the server's directory: config, data, and its logs under log/.
func (s *Server) Dir() string { return s.dir }

// Stop kills the server and waits for it to exit. Data stays on disk.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Restart starts the server (again) on the same port and data and waits
// until it answers queries.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	cmd := exec.Command("clickhouse-server", "--config-file="+filepath.Join(s.dir, "config.xml"))
	log, err := os.Create(filepath.Join(s.dir, "stdout.log"))
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start clickhouse-server: %v", err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); log.Close(); close(s.done) }()
	if err := WaitReady(s.Addr(), 60*time.Second); err != nil {
		out, _ := os.ReadFile(filepath.Join(s.dir, "stdout.log"))
		s.t.Fatalf("clickhouse-server did not come up: %v\n%s", err, out)
	}
}

// WaitReady polls the server with SELECT 1 until it answers or the time is
// up. Polling a server that is starting is the one wait a test cannot
// avoid; it is bounded and does not affect what the test asserts.
func WaitReady(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, DialTimeout: time.Second})
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err = conn.Exec(ctx, "SELECT 1")
			cancel()
			conn.Close()
			if err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *Server) writeConfig() {
	d := s.dir
	for _, sub := range []string{"data", "tmp", "user_files", "format_schemas", "log"} {
		if err := os.MkdirAll(filepath.Join(d, sub), 0o755); err != nil {
			s.t.Fatal(err)
		}
	}
	users := `<yandex><profiles><default></default></profiles>
<users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
<quotas><default></default></quotas></yandex>`
	cfg := strings.NewReplacer("DIR", d, "TCP", fmt.Sprint(s.port), "HTTP", fmt.Sprint(freeport.For(s.t))).Replace(
		`<yandex><logger><level>warning</level><log>DIR/log/server.log</log><errorlog>DIR/log/error.log</errorlog></logger>
<listen_host>127.0.0.1</listen_host><tcp_port>TCP</tcp_port><http_port>HTTP</http_port>
<path>DIR/data/</path><tmp_path>DIR/tmp/</tmp_path><user_files_path>DIR/user_files/</user_files_path>
<format_schema_path>DIR/format_schemas/</format_schema_path><users_config>DIR/users.xml</users_config>
<default_profile>default</default_profile><default_database>default</default_database>
<mark_cache_size>268435456</mark_cache_size>EXTRA</yandex>`)
	cfg = strings.Replace(cfg, "EXTRA", s.opts.Config, 1)
	for name, body := range map[string]string{"users.xml": users, "config.xml": cfg} {
		if err := os.WriteFile(filepath.Join(d, name), []byte(body), 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
}
