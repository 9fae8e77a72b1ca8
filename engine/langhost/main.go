// Command pulumi-language-nodejs is a small Node.js language host for the
// Pulumi engine. It implements the LanguageRuntime gRPC service well enough
// for preview/up/destroy/refresh/stack output/config with a JavaScript or
// TypeScript program that uses @pulumi/pulumi from the program's
// node_modules: Run spawns `node <@pulumi/pulumi/cmd/run> ...` exactly like
// the engine expects.
//
// Protocol (as the engine drives a language plugin):
//   - the engine starts the binary as `pulumi-language-nodejs [flags] ENGINE_ADDR`
//     (flags: --tracing URL, --logtostderr, -v=N), with the program directory
//     as the working directory;
//   - the host listens on 127.0.0.1:<random port>, prints the port followed
//     by a newline on stdout, and then serves gRPC until the engine goes away;
//   - everything the host (and the Node.js program it runs) writes to
//     stdout/stderr afterwards is shown by the engine as program output.
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
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// version is reported by GetPluginInfo; build.sh stamps the CLI version.
var version = "3.248.0"

// maxMessageSize matches the engine's own limit for plugin messages.
const maxMessageSize = 400 * 1024 * 1024

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
		os.Exit(1)
	}
}

func run(argv []string) error {
	fs := flag.NewFlagSet("pulumi-language-nodejs", flag.ContinueOnError)
	tracing := fs.String("tracing", "", "Zipkin-compatible tracing endpoint (passed on to the program)")
	logToStderr := fs.Bool("logtostderr", false, "write debug logs to stderr")
	verbose := fs.Int("v", 0, "debug log verbosity")
	runtimeName := fs.String("runtime", "nodejs", "runtime to run programs with (only nodejs)")
	showVersion := fs.Bool("version", false, "print the plugin version and exit")
	if err := fs.Parse(argv); err != nil {
		return err
	}
	if *showVersion {
		fmt.Println(version)
		return nil
	}
	if *runtimeName != "nodejs" {
		return fmt.Errorf("unsupported runtime %q: this host only runs nodejs", *runtimeName)
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

	host := newHost(engineAddress, *tracing, logw)

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(maxMessageSize), grpc.MaxSendMsgSize(maxMessageSize))
	pulumirpc.RegisterLanguageRuntimeServer(srv, host)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)

	// The engine reads exactly one line from stdout: our port.
	fmt.Printf("%d\n", lis.Addr().(*net.TCPAddr).Port)

	if engineAddress != "" {
		go watchEngine(ctx, engineAddress, stop)
	}
	go func() {
		<-ctx.Done()
		host.cancelAll()
		srv.GracefulStop()
	}()

	if err := srv.Serve(lis); err != nil {
		return fmt.Errorf("serving: %w", err)
	}
	return nil
}

// watchEngine stops the host when the engine stops answering health checks,
// so that an engine killed with SIGKILL does not leave the host behind.
func watchEngine(ctx context.Context, addr string, stop func()) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	failures := 0
	ticker := time.NewTicker(30 * time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, err := client.Check(cctx, &healthpb.HealthCheckRequest{})
			cancel()
			if err != nil && !isUnimplemented(err) {
				failures++
				if failures >= 3 {
					stop()
					return
				}
			} else {
				failures = 0
			}
		}
	}
}
