// Command pulumi-resource-command is a small implementation of the Pulumi
// "command" resource provider (package command, version 1.2.1, as the
// @pulumi/command 1.2.1 npm SDK expects it), covering command:local:Command,
// command:remote:Command and command:remote:CopyToRemote.
//
// The engine starts it as `pulumi-resource-command [flags] ENGINE_ADDR`; it
// listens on 127.0.0.1:<random port>, prints the port and a newline on
// stdout, and serves the ResourceProvider gRPC service. The engine hides a
// resource plugin's own stdout/stderr (debug level), so nothing the user must
// see is written there: command output and warnings go through the engine's
// Log RPC instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// version is what GetPluginInfo reports; @pulumi/command 1.2.1 asks for it.
var version = "1.2.1"

const maxMessageSize = 400 * 1024 * 1024

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-command: %v\n", err)
		os.Exit(1)
	}
}

func run(argv []string) error {
	fs := flag.NewFlagSet("pulumi-resource-command", flag.ContinueOnError)
	_ = fs.String("tracing", "", "tracing endpoint (ignored)")
	logToStderr := fs.Bool("logtostderr", false, "write debug logs to stderr")
	verbose := fs.Int("v", 0, "debug log verbosity")
	showVersion := fs.Bool("version", false, "print the plugin version and exit")
	if err := fs.Parse(argv); err != nil {
		return err
	}
	if *showVersion {
		fmt.Println(version)
		return nil
	}
	var logw io.Writer = io.Discard
	if *logToStderr && *verbose > 0 {
		logw = os.Stderr
	}
	engineAddress := ""
	if fs.NArg() > 0 {
		engineAddress = fs.Arg(0)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	prov := newProvider(ctx, engineAddress, logw)
	defer prov.close()

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(maxMessageSize), grpc.MaxSendMsgSize(maxMessageSize))
	pulumirpc.RegisterResourceProviderServer(srv, prov)
	healthpb.RegisterHealthServer(srv, health.NewServer())

	fmt.Printf("%d\n", lis.Addr().(*net.TCPAddr).Port)

	go func() {
		<-ctx.Done()
		prov.cancel()
		srv.GracefulStop()
	}()
	if err := srv.Serve(lis); err != nil {
		return fmt.Errorf("serving: %w", err)
	}
	return nil
}
