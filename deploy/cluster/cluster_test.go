// Package cluster_test checks the scale-out examples in this directory
// (docs/operations.md, "Scale-out") against what callpulse needs of them.
// The layout itself, with the same settings, runs for real in
// app.TestScaleOut (internal/chcluster); these tests keep the examples in
// step with it: the ClickHouse files define one shard of the replicas the
// daemons' DSN names, with the cluster name the daemons use, the daemons'
// configurations load and differ only where they must, and the compose
// file mounts files that exist.
package cluster_test

import (
	"encoding/xml"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/callpulse/callpulse/config"
	"github.com/callpulse/callpulse/internal/chtest"
)

type clickhouseXML struct {
	XMLName         xml.Name `xml:"yandex"`
	InterserverHost string   `xml:"interserver_http_host"`
	InterserverPort int      `xml:"interserver_http_port"`
	ZooKeeper       []struct {
		Host string `xml:"host"`
		Port int    `xml:"port"`
	} `xml:"zookeeper>node"`
	DDLPath string `xml:"distributed_ddl>path"`
	Macros  struct {
		Shard   string `xml:"shard"`
		Replica string `xml:"replica"`
	} `xml:"macros"`
	Clusters struct {
		Inner []byte `xml:",innerxml"`
	} `xml:"remote_servers"`
}

type clusterXML struct {
	XMLName xml.Name
	Shards  []struct {
		InternalReplication bool `xml:"internal_replication"`
		Replicas            []struct {
			Host            string `xml:"host"`
			Port            string `xml:"port"`
			DefaultDatabase string `xml:"default_database"`
		} `xml:"replica"`
	} `xml:"shard"`
}

func readXML(t *testing.T, file string) clickhouseXML {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var c clickhouseXML
	if err := xml.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return c
}

func loadDaemon(t *testing.T, name string) *config.Config {
	t.Helper()
	cfg, err := config.Load("callpulse-"+name+".yml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestClickHouseFilesMatchTheDaemons(t *testing.T) {
	common := readXML(t, "clickhouse/callpulse-cluster.xml")
	if len(common.ZooKeeper) == 0 || common.DDLPath == "" || common.InterserverPort == 0 {
		t.Errorf("callpulse-cluster.xml: want zookeeper nodes, distributed_ddl and interserver_http_port, got %+v", common)
	}
	var cluster clusterXML
	if err := xml.Unmarshal(common.Clusters.Inner, &cluster); err != nil {
		t.Fatalf("remote_servers: %v", err)
	}
	daemon := loadDaemon(t, "a")
	if cluster.XMLName.Local != daemon.ClickHouse.Cluster {
		t.Errorf("remote_servers defines cluster %q, the daemons use %q", cluster.XMLName.Local, daemon.ClickHouse.Cluster)
	}
	if len(cluster.Shards) != 1 || !cluster.Shards[0].InternalReplication {
		t.Fatalf("want one shard with internal_replication, got %+v", cluster.Shards)
	}
	var replicas []string
	for _, r := range cluster.Shards[0].Replicas {
		replicas = append(replicas, r.Host+":"+r.Port)
		if r.DefaultDatabase != daemon.ClickHouse.Database() {
			t.Errorf("replica %s: default_database %q, want the DSN's %q", r.Host, r.DefaultDatabase, daemon.ClickHouse.Database())
		}
	}
	if dsn := dsnHosts(t, daemon.ClickHouse.DSN); !slices.Equal(dsn, replicas) {
		t.Errorf("the daemons' DSN names %v, the cluster's replicas are %v", dsn, replicas)
	}
	for _, r := range cluster.Shards[0].Replicas {
		m := readXML(t, "clickhouse/macros-"+r.Host+".xml")
		if m.Macros.Shard == "" || m.Macros.Replica != r.Host || m.InterserverHost != r.Host {
			t.Errorf("macros-%s.xml: want shard, replica %[1]s and interserver_http_host %[1]s, got %+v", r.Host, m)
		}
	}
}

// dsnHosts lists the host:port of a DSN and of its alt_hosts, in order.
func dsnHosts(t *testing.T, dsn string) []string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	hosts := []string{u.Host}
	if alt := u.Query().Get("alt_hosts"); alt != "" {
		hosts = append(hosts, strings.Split(alt, ",")...)
	}
	return hosts
}

// TestDaemonsDifferOnlyInListenAndDataDir: every daemon counts the same
// managers, lines and targets into the same ClickHouse.
func TestDaemonsDifferOnlyInListenAndDataDir(t *testing.T) {
	a, b := loadDaemon(t, "a"), loadDaemon(t, "b")
	if a.Listen == b.Listen || a.DataDir == b.DataDir {
		t.Errorf("daemons share listen %q / data_dir %q: each needs its own", a.Listen, a.DataDir)
	}
	b.Listen, b.DataDir = a.Listen, a.DataDir
	if !reflect.DeepEqual(a, b) {
		t.Errorf("callpulse-a.yml and callpulse-b.yml differ beyond listen and data_dir:\n%+v\n%+v", a, b)
	}
}

func TestComposeMountsExistingFiles(t *testing.T) {
	b, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Volumes []string `yaml:"volumes"`
		} `yaml:"services"`
		Configs map[string]struct {
			Content string `yaml:"content"`
		} `yaml:"configs"`
	}
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatal(err)
	}
	mounts := 0
	for name, s := range compose.Services {
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if !strings.HasPrefix(src, "./") {
				continue
			}
			mounts++
			if _, err := os.Stat(src); err != nil {
				t.Errorf("service %s mounts %s: %v", name, src, err)
			}
		}
	}
	if mounts == 0 {
		t.Error("docker-compose.yml mounts none of the example files")
	}
	// HAProxy checks the load balancer's configurations.
	if _, err := exec.LookPath("haproxy"); err != nil {
		chtest.Unavailable(t, "haproxy is not installed (Debian package haproxy)")
	}
	// The daemons' container names resolve only inside compose.
	inline := filepath.Join(t.TempDir(), "compose-haproxy.cfg")
	content := strings.NewReplacer("callpulse-a:", "127.0.0.1:", "callpulse-b:", "127.0.0.1:").Replace(compose.Configs["haproxy"].Content)
	if err := os.WriteFile(inline, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"haproxy.cfg", inline} {
		if out, err := exec.Command("haproxy", "-c", "-f", f).CombinedOutput(); err != nil {
			t.Errorf("haproxy -c -f %s: %v\n%s", f, err, out)
		}
	}
}
