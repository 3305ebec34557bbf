// Command callpulse is the call-analytics daemon and its tools. Run
// "callpulse help" for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `callpulse turns a sales team's phone calls into numbers.

Usage: callpulse COMMAND [flags]

Commands:
  serve                    run the daemon (webhooks, API, metrics)
  migrate                  create or upgrade the ClickHouse schema
  check-config             load the config and print every problem with file:line
  import clients FILE.csv  upsert clients (phone,name,category,need,budget,urgency,source,manager)
  simulate                 push realistic simulated calls to a running daemon
  report                   send (or --dry-run: write) the e-mail report of a day
  deadletter list|retry ID list CRM requests that failed permanently, or requeue them (daemon stopped)
  bitrix24-authorize --code CODE  exchange the Bitrix24 application's authorization code for tokens
  version                  print the version

Every command takes --config FILE (default $CALLPULSE_CONFIG; without a file,
defaults and CALLPULSE_* environment variables apply). "callpulse COMMAND -h"
lists a command's flags.
`

type command func(ctx context.Context, args []string) error

func main() {
	commands := map[string]command{
		"serve":              runServe,
		"migrate":            runMigrate,
		"check-config":       runCheckConfig,
		"import":             runImport,
		"simulate":           runSimulate,
		"report":             runReport,
		"deadletter":         runDeadletter,
		"bitrix24-authorize": runBitrix24Authorize,
		"version": func(context.Context, []string) error {
			fmt.Println("callpulse", version)
			return nil
		},
	}
	if len(os.Args) < 2 || os.Args[1] == "help" || os.Args[1] == "-h" || os.Args[1] == "--help" {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "callpulse: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cmd(ctx, os.Args[2:])
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		msg := " " + err.Error()
		if strings.Contains(msg, "\n") {
			// One problem per line (check-config, import), indented under the command.
			msg = "\n " + strings.ReplaceAll(msg, "\n", "\n  ")
		}
		fmt.Fprintf(os.Stderr, "callpulse %s:%s\n", os.Args[1], msg)
		os.Exit(1)
	}
}
