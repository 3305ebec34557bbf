package dashboards_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type datasourcesFile struct {
	APIVersion  int `yaml:"apiVersion"`
	Datasources []struct {
		Name           string            `yaml:"name"`
		UID            string            `yaml:"uid"`
		Type           string            `yaml:"type"`
		Access         string            `yaml:"access"`
		Editable       bool              `yaml:"editable"`
		URL            string            `yaml:"url"`
		JSONData       map[string]any    `yaml:"jsonData"`
		SecureJSONData map[string]string `yaml:"secureJsonData"`
	} `yaml:"datasources"`
}

type providersFile struct {
	APIVersion int `yaml:"apiVersion"`
	Providers  []struct {
		Name                  string `yaml:"name"`
		OrgID                 int    `yaml:"orgId"`
		Type                  string `yaml:"type"`
		Folder                string `yaml:"folder"`
		FolderUID             string `yaml:"folderUid"`
		DisableDeletion       bool   `yaml:"disableDeletion"`
		AllowUIUpdates        bool   `yaml:"allowUiUpdates"`
		UpdateIntervalSeconds int    `yaml:"updateIntervalSeconds"`
		Options               struct {
			Path                      string `yaml:"path"`
			FoldersFromFilesStructure bool   `yaml:"foldersFromFilesStructure"`
		} `yaml:"options"`
	} `yaml:"providers"`
}

// readYAML decodes a provisioning file, refusing keys the structs above do
// not know (Grafana ignores misspelt keys silently).
func readYAML(t *testing.T, path string, v any) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

// TestProvisioning: the provisioned data sources are what the dashboards'
// data source variables select by default, ClickHouse is the official
// plugin on the native protocol and callpulse's database, and the
// dashboard provider reads files.
func TestProvisioning(t *testing.T) {
	var ds datasourcesFile
	dsYAML := readYAML(t, filepath.Join("provisioning", "datasources", "callpulse.yml"), &ds)
	var pv providersFile
	readYAML(t, filepath.Join("provisioning", "dashboards", "callpulse.yml"), &pv)

	if ds.APIVersion != 1 || pv.APIVersion != 1 {
		t.Errorf("apiVersion %d and %d, want 1", ds.APIVersion, pv.APIVersion)
	}
	byType := map[string]string{} // plugin type -> uid
	for _, d := range ds.Datasources {
		byType[d.Type] = d.UID
		switch d.Type {
		case clickhouseType:
			j := d.JSONData
			if j["protocol"] != "native" || j["defaultDatabase"] != "callpulse" || j["host"] == nil || j["port"] == nil {
				t.Errorf("ClickHouse jsonData %v: want protocol native, defaultDatabase callpulse, host and port", j)
			}
			if _, ok := d.SecureJSONData["password"]; !ok {
				t.Errorf("ClickHouse: the password belongs in secureJsonData")
			}
		case prometheusType:
			if d.URL == "" || d.JSONData["timeInterval"] == nil {
				t.Errorf("Prometheus: want url and jsonData.timeInterval (the scrape interval)")
			}
		default:
			t.Errorf("unexpected data source type %q", d.Type)
		}
	}
	for _, d := range loadDashboards(t) {
		for _, v := range d.Templating.List {
			if v.Type != "datasource" {
				continue
			}
			var current string
			_ = json.Unmarshal(v.Current.Value, &current)
			if uid, ok := byType[v.queryText()]; !ok || uid != current {
				t.Errorf("%s variable %s: type %s, default %q; provisioned: %v", d.UID, v.Name, v.queryText(), current, byType)
			}
		}
	}

	if len(pv.Providers) != 1 {
		t.Fatalf("%d dashboard providers, want 1", len(pv.Providers))
	}
	p := pv.Providers[0]
	if p.Type != "file" || !filepath.IsAbs(p.Options.Path) || p.Folder == "" || p.FolderUID == "" {
		t.Errorf("provider %+v: want type file, an absolute path and a folder", p)
	}

	// Every environment variable the data sources need is documented.
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	vars := regexp.MustCompile(`\$\{?([A-Z][A-Z0-9_]+)`).FindAllStringSubmatch(string(dsYAML), -1)
	if len(vars) == 0 {
		t.Error("the data sources use no environment variables")
	}
	for _, m := range vars {
		if !strings.Contains(string(readme), m[1]) {
			t.Errorf("README.md does not document %s", m[1])
		}
	}
	if !slices.ContainsFunc(strings.Split(string(readme), "\n"), func(l string) bool { return strings.Contains(l, p.Options.Path) }) {
		t.Errorf("README.md does not say where the dashboards go (%s)", p.Options.Path)
	}
}
