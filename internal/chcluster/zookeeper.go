package chcluster

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/internal/chtest"
	"github.com/callpulse/callpulse/internal/freeport"
)

// EnvZooKeeperJar names the variable with the path of zookeeper.jar, for
// systems where it is not where Debian's zookeeper package puts it.
const EnvZooKeeperJar = "CALLPULSE_ZOOKEEPER_JAR"

// debianJar is zookeeper.jar of Debian's zookeeper package; its manifest
// lists the libraries it needs, so it is the whole class path.
const debianJar = "/usr/share/java/zookeeper.jar"

// tickMillis is ZooKeeper's tick. Sessions last between 2 and 20 ticks: a
// short tick lets a killed ClickHouse's session expire within a second or
// two, so that the same replica can register again when it restarts.
const tickMillis = 200

// ZooKeeper is a private standalone ZooKeeper server on loopback.
type ZooKeeper struct {
	t    testing.TB
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// StartZooKeeper runs a standalone ZooKeeper with its data in a temp dir; it
// is stopped when the test ends.
func StartZooKeeper(t testing.TB) *ZooKeeper {
	t.Helper()
	jar := os.Getenv(EnvZooKeeperJar)
	if jar == "" {
		jar = debianJar
	}
	if _, err := os.Stat(jar); err != nil {
		chtest.Unavailable(t, "ZooKeeper is not installed (Debian package zookeeper; or set %s)", EnvZooKeeperJar)
	}
	if _, err := exec.LookPath("java"); err != nil {
		chtest.Unavailable(t, "java is not installed (Debian package default-jre-headless)")
	}
	z := &ZooKeeper{t: t, dir: t.TempDir(), port: freeport.For(t)}
	log, err := os.Create(filepath.Join(z.dir, "zookeeper.log"))
	if err != nil {
		t.Fatal(err)
	}
	// ZooKeeperServerMain takes "port dataDir tickTime". The admin server
	// would take port 8080; nothing here needs it.
	z.cmd = exec.Command("java", "-Xmx256m", "-XX:TieredStopAtLevel=1",
		"-Dzookeeper.admin.enableServer=false", "-cp", jar,
		"org.apache.zookeeper.server.ZooKeeperServerMain",
		fmt.Sprint(z.port), filepath.Join(z.dir, "data"), fmt.Sprint(tickMillis))
	z.cmd.Stdout, z.cmd.Stderr = log, log
	if err := z.cmd.Start(); err != nil {
		t.Fatalf("start zookeeper: %v", err)
	}
	z.done = make(chan struct{})
	go func() { _ = z.cmd.Wait(); log.Close(); close(z.done) }()
	t.Cleanup(z.stop)
	if err := z.waitReady(30 * time.Second); err != nil {
		out, _ := os.ReadFile(filepath.Join(z.dir, "zookeeper.log"))
		t.Fatalf("zookeeper did not come up: %v\n%s", err, out)
	}
	return z
}

// Port is the client port on 127.0.0.1.
func (z *ZooKeeper) Port() int { return z.port }

func (z *ZooKeeper) stop() {
	_ = z.cmd.Process.Kill()
	<-z.done
}

// waitReady asks the server "srvr" (one of ZooKeeper's four-letter
// commands, allowed by default) until it answers or the time is up: the
// bounded wait for a starting server, as in chtest.WaitReady.
func (z *ZooKeeper) waitReady(within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		err := z.srvr()
		if err == nil {
			return nil
		}
		select {
		case <-z.done:
			return fmt.Errorf("zookeeper exited: %w", err)
		default:
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (z *ZooKeeper) srvr() error {
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", z.port), time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte("srvr")); err != nil {
		return err
	}
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "Mode:") {
			return nil
		}
	}
	return fmt.Errorf("zookeeper answered srvr without a mode: %v", sc.Err())
}
