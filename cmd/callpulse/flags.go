package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/callpulse/callpulse/config"
)

// commonFlags are the flags every command takes.
type commonFlags struct {
	configPath string
}

func newFlagSet(name string) (*flag.FlagSet, *commonFlags) {
	fs := flag.NewFlagSet("callpulse "+name, flag.ContinueOnError)
	c := &commonFlags{}
	fs.StringVar(&c.configPath, "config", os.Getenv("CALLPULSE_CONFIG"), "YAML config `FILE`")
	return fs, c
}

// load reads the config file (or defaults when none is given) with the
// CALLPULSE_* environment overrides.
func (c *commonFlags) load() (*config.Config, error) {
	if c.configPath == "" {
		return config.Parse(nil, "(defaults)", os.LookupEnv)
	}
	return config.Load(c.configPath, os.LookupEnv)
}

// newLogger builds the process logger from the config.
func newLogger(cfg *config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Log.SlogLevel()}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// oneArg returns the single positional argument or an error naming it.
func oneArg(fs *flag.FlagSet, what string) (string, error) {
	if fs.NArg() != 1 {
		return "", fmt.Errorf("want exactly one %s, got %d arguments", what, fs.NArg())
	}
	return fs.Arg(0), nil
}
