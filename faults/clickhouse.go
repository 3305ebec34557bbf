package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/callpulse/callpulse/internal/freeport"
)

// ClickHouse is a private clickhouse-server child process on a loopback
// port with its data under a directory; the faults kill and restart it.
type ClickHouse struct {
	dir    string
	port   int
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartClickHouse configures a server under dir and starts it.
func StartClickHouse(ctx context.Context, dir string) (*ClickHouse, error) {
	if _, err := exec.LookPath("clickhouse-server"); err != nil {
		return nil, errors.New("clickhouse-server is not installed (make test installs it)")
	}
	port, err := freeport.Get()
	if err != nil {
		return nil, err
	}
	httpPort, err := freeport.Get()
	if err != nil {
		return nil, err
	}
	c := &ClickHouse{dir: dir, port: port}
	for _, sub := range []string{"data", "tmp", "user_files", "format_schemas", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	users := `<yandex><profiles><default></default></profiles>
<users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
<quotas><default></default></quotas></yandex>`
	cfg := strings.NewReplacer("DIR", dir, "TCP", fmt.Sprint(port), "HTTP", fmt.Sprint(httpPort)).Replace(
		`<yandex><logger><level>warning</level><log>DIR/log/server.log</log><errorlog>DIR/log/error.log</errorlog></logger>
<listen_host>127.0.0.1</listen_host><tcp_port>TCP</tcp_port><http_port>HTTP</http_port>
<path>DIR/data/</path><tmp_path>DIR/tmp/</tmp_path><user_files_path>DIR/user_files/</user_files_path>
<format_schema_path>DIR/format_schemas/</format_schema_path><users_config>DIR/users.xml</users_config>
<default_profile>default</default_profile><default_database>default</default_database>
<mark_cache_size>268435456</mark_cache_size></yandex>`)
	for name, body := range map[string]string{"users.xml": users, "config.xml": cfg} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	return c, c.Start(ctx)
}

// Addr is the native-protocol address.
func (c *ClickHouse) Addr() string { return fmt.Sprintf("127.0.0.1:%d", c.port) }

// Start starts the server (again, on the same port and data) and waits
// until it answers queries.
func (c *ClickHouse) Start(ctx context.Context) error {
	if c.cmd != nil {
		return errors.New("clickhouse-server is already running")
	}
	out, err := os.OpenFile(filepath.Join(c.dir, "log", "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command("clickhouse-server", "--config-file="+filepath.Join(c.dir, "config.xml"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start clickhouse-server: %w", err)
	}
	c.cmd, c.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); out.Close(); close(c.exited) }()
	err = waitFor(ctx, time.Minute, "clickhouse-server answers SELECT 1", func(ctx context.Context) (bool, error) {
		select {
		case <-c.exited:
			return false, fmt.Errorf("clickhouse-server exited; see %s", filepath.Join(c.dir, "log"))
		default:
		}
		conn, err := c.open()
		if err != nil {
			return false, nil
		}
		defer conn.Close()
		return conn.Ping(ctx) == nil, nil
	})
	if err != nil {
		c.Kill()
	}
	return err
}

// Kill stops the server with SIGKILL, as a crash or an OOM kill would,
// and waits for it to exit.
func (c *ClickHouse) Kill() {
	if c.cmd == nil {
		return
	}
	_ = c.cmd.Process.Kill()
	<-c.exited
	c.cmd = nil
}

// Running reports whether the server process is up.
func (c *ClickHouse) Running() bool { return c.cmd != nil }

func (c *ClickHouse) open() (clickhouse.Conn, error) {
	return clickhouse.Open(&clickhouse.Options{Addr: []string{c.Addr()}, DialTimeout: 2 * time.Second})
}

// InsertRunning reports whether an INSERT into call_events is being
// executed (system.processes of 18.16 has no database column; one daemon
// writes at a time).
func (c *ClickHouse) InsertRunning(ctx context.Context, conn clickhouse.Conn) (bool, error) {
	var n uint64
	err := conn.QueryRow(ctx, `SELECT count() FROM system.processes WHERE query LIKE 'INSERT INTO call_events%'`).Scan(&n)
	return n > 0, err
}
