package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"

	"github.com/callpulse/callpulse/app"
	"github.com/callpulse/callpulse/config"
	"github.com/callpulse/callpulse/loadgen"
)

// profileDaemon runs the daemon in-process (app.Start, as app's tests do)
// under saturation and writes a CPU profile to path. Goroutines carry the
// pprof label side=daemon or side=loadgen (labels are inherited by the
// goroutines a labelled one starts), so the daemon's share can be read
// alone: go tool pprof -tagfocus=side=daemon.
func profileDaemon(ctx context.Context, path, chAddr string, opts loadgen.Options) (*loadgen.Result, error) {
	dir, err := os.MkdirTemp("", "callpulse-bench-profile-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	token := randomToken()
	env := map[string]string{
		config.EnvListen:        "127.0.0.1:0",
		config.EnvClickHouseDSN: fmt.Sprintf("clickhouse://%s/callpulse_bench_profile", chAddr),
		config.EnvDataDir:       dir,
		config.EnvAPIToken:      randomToken(),
		config.EnvGenericToken:  token,
	}
	cfg, err := config.Parse(nil, "(bench)", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var a *app.App
	pprof.Do(ctx, pprof.Labels("side", "daemon"), func(ctx context.Context) {
		a, err = app.Start(ctx, cfg, log)
	})
	if err != nil {
		return nil, err
	}
	defer a.Shutdown()

	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tgt := webhookTarget("http://"+a.Addr(), token, "profile")
	var res *loadgen.Result
	pprof.Do(ctx, pprof.Labels("side", "loadgen"), func(ctx context.Context) {
		loadgen.Saturate(ctx, tgt, loadgen.Options{Duration: opts.Duration / 5, Workers: opts.Workers}) // warm-up
		if err = pprof.StartCPUProfile(f); err != nil {
			return
		}
		res = loadgen.Saturate(ctx, tgt, opts)
		pprof.StopCPUProfile()
	})
	return res, err
}
