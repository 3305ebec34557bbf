package mango

import (
	"strings"
	"testing"

	"github.com/callpulse/callpulse/phone"
)

func TestOptionsValidate(t *testing.T) {
	norm, err := phone.NewNormalizer("RU")
	if err != nil {
		t.Fatal(err)
	}
	ok := Options{APIKey: testKey, APISalt: testSalt, Normalizer: norm}
	tests := []struct {
		name string
		edit func(*Options)
		want string // substring of the error; "" means valid
	}{
		{"valid", func(*Options) {}, ""},
		{"custom URL", func(o *Options) { o.APIURL = "http://127.0.0.1:9000/vpbx/" }, ""},
		{"no key", func(o *Options) { o.APIKey = "" }, EnvAPIKey},
		{"no salt", func(o *Options) { o.APISalt = "" }, EnvAPISalt},
		{"no normalizer", func(o *Options) { o.Normalizer = nil }, "normalizer"},
		{"relative URL", func(o *Options) { o.APIURL = "app.mango-office.ru/vpbx" }, "absolute"},
		{"ftp URL", func(o *Options) { o.APIURL = "ftp://app.mango-office.ru/vpbx" }, "absolute"},
		{"URL with query", func(o *Options) { o.APIURL = "https://app.mango-office.ru/vpbx?x=1" }, "query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.edit(&o)
			_, err := New(o)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("New: %v, want an error about %q", err, tt.want)
			case err != nil && (strings.Contains(err.Error(), testSalt) || strings.Contains(err.Error(), testKey)):
				t.Fatalf("error leaks a secret: %v", err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	p := newProvider(t)
	if p.apiURL != DefaultAPIURL || p.Name() != "mango" {
		t.Errorf("apiURL %q, name %q", p.apiURL, p.Name())
	}
	p = newProviderWith(t, Options{APIKey: testKey, APISalt: testSalt, APIURL: "http://127.0.0.1:9000/vpbx/"})
	if p.apiURL != "http://127.0.0.1:9000/vpbx" {
		t.Errorf("apiURL %q keeps its trailing slash", p.apiURL)
	}
}
