package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const (
	// Module that the host runs; @pulumi/pulumi ships it. May be overridden,
	// as with the upstream host, by PULUMI_LANGUAGE_NODEJS_RUN_PATH.
	defaultRunModule = "@pulumi/pulumi/cmd/run"

	// Exit code with which @pulumi/pulumi's run script says "the error was
	// already reported to the engine": the engine must bail without adding
	// a message of its own.
	exitAlreadyReported = 32
)

// host implements pulumirpc.LanguageRuntimeServer.
type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string
	tracing       string
	log           io.Writer
	running       map[*exec.Cmd]struct{}
	cancelled     bool
}

func newHost(engineAddress, tracing string, log io.Writer) *host {
	return &host{
		engineAddress: engineAddress,
		tracing:       tracing,
		log:           log,
		running:       map[*exec.Cmd]struct{}{},
	}
}

func (h *host) debugf(format string, args ...any) {
	fmt.Fprintf(h.log, "pulumi-language-nodejs: "+format+"\n", args...)
}

func isUnimplemented(err error) bool {
	return status.Code(err) == codes.Unimplemented
}

// Handshake is only sent when the engine attaches to an already running host
// (PULUMI_DEBUG_LANGUAGES); a spawned host gets the engine address as its
// positional argument instead.
func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	h.engineAddress = req.GetEngineAddress()
	h.mu.Unlock()
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// GetRequiredPlugins is the deprecated form of GetRequiredPackages; answering
// Unimplemented makes the engine use the latter (as with the upstream host).
func (h *host) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return nil, status.Error(codes.Unimplemented, "GetRequiredPlugins is superseded by GetRequiredPackages")
}

// GetRequiredPackages reports the resource plugins that the program's
// node_modules declare ("pulumi": {"resource": true, ...} in package.json).
// The engine loads exactly these versions as default providers; with
// automatic plugin acquisition disabled it never downloads anything.
func (h *host) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		return &pulumirpc.GetRequiredPackagesResponse{}, nil
	}
	pkgs, errs := findPulumiPackages(dir)
	for _, err := range errs {
		h.debugf("while looking for plugins: %v", err)
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, nil
}

// Run executes the program once, to completion.
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	h.mu.Lock()
	engineAddress := h.engineAddress
	h.mu.Unlock()

	info := req.GetInfo()
	programDir := info.GetProgramDirectory()
	if programDir == "" {
		programDir = req.GetPwd()
	}
	entry := info.GetEntryPoint()
	if entry == "" {
		entry = req.GetProgram()
	}
	if entry == "" {
		entry = "."
	}

	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find node on the $PATH: " + err.Error()}, nil
	}

	runModule := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH")
	if runModule == "" {
		runModule = defaultRunModule
	}
	runPath, err := resolveModule(ctx, nodeBin, programDir, runModule)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	opts, err := parseOptions(info.GetOptions().AsMap())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	configJSON, err := configEnv(req.GetConfig())
	if err != nil {
		return &pulumirpc.RunResponse{Error: "failed to serialize configuration: " + err.Error()}, nil
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return &pulumirpc.RunResponse{Error: "failed to serialize secret configuration keys: " + err.Error()}, nil
	}

	// node [nodeargs] RUN --monitor A --engine B ... ENTRY [args]
	args := append([]string{}, opts.nodeArgs...)
	args = append(args, runPath)
	flagArg := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flagArg("monitor", req.GetMonitorAddress())
	flagArg("engine", engineAddress)
	flagArg("organization", req.GetOrganization())
	flagArg("project", req.GetProject())
	flagArg("root-directory", info.GetRootDirectory())
	flagArg("stack", req.GetStack())
	flagArg("pwd", programDir)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	flagArg("parallel", strconv.Itoa(int(req.GetParallel())))
	flagArg("tracing", h.tracing)
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	env := os.Environ()
	env = append(env,
		"PULUMI_CONFIG="+configJSON,
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeysJSON),
	)
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}

	h.debugf("running %s %s", nodeBin, strings.Join(args, " "))

	cmd := exec.Command(nodeBin, args...)
	cmd.Dir = programDir
	cmd.Env = env
	// Not *os.File: exec then copies through pipes, so that node cannot
	// change the blocking mode of our own stdout/stderr.
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}
	cmd.WaitDelay = 5 * time.Second

	if err := h.start(cmd); err != nil {
		return &pulumirpc.RunResponse{
			Error: "Problem executing program (could not run language executor): " + err.Error(),
		}, nil
	}

	// If the engine abandons the call, stop the program too.
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = cmd.Process.Signal(os.Interrupt)
		case <-done:
		}
	}()
	err = cmd.Wait()
	close(done)
	h.forget(cmd)

	if err == nil {
		return &pulumirpc.RunResponse{}, nil
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return &pulumirpc.RunResponse{
			Error: "Problem executing program (could not run language executor): " + err.Error(),
		}, nil
	}
	if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program was terminated by signal %v", ws.Signal())}, nil
	}
	switch code := exitErr.ExitCode(); code {
	case exitAlreadyReported:
		// The SDK already logged the error through the engine.
		return &pulumirpc.RunResponse{Bail: true}, nil
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", code)}, nil
	}
}

func (h *host) start(cmd *exec.Cmd) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cancelled {
		return errors.New("the language host was cancelled")
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	h.running[cmd] = struct{}{}
	return nil
}

func (h *host) forget(cmd *exec.Cmd) {
	h.mu.Lock()
	delete(h.running, cmd)
	h.mu.Unlock()
}

// cancelAll interrupts every running program (SIGINT, as a terminal would).
func (h *host) cancelAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cancelled = true
	for cmd := range h.running {
		if cmd.Process != nil {
			_ = cmd.Process.Signal(os.Interrupt)
		}
	}
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancelAll()
	return &emptypb.Empty{}, nil
}

// InstallDependencies: dependencies are installed by the project itself
// (npm ci with a lockfile), so this only says so.
func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	srv grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	msg := "pulumi-language-nodejs (smtp-port): dependencies are managed with npm; nothing to install\n"
	return srv.Send(&pulumirpc.InstallDependenciesResponse{Stdout: []byte(msg)})
}

func (h *host) RuntimeOptionsPrompts(context.Context, *pulumirpc.RuntimeOptionsRequest) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *host) Template(context.Context, *pulumirpc.TemplateRequest) (*pulumirpc.TemplateResponse, error) {
	return &pulumirpc.TemplateResponse{}, nil
}

func (h *host) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	resp := &pulumirpc.AboutResponse{
		Executable: nodeBin,
		Metadata:   map[string]string{"packagemanager": "npm"},
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(cctx, nodeBin, "--version").Output(); err == nil {
		resp.Version = strings.TrimSpace(string(out))
	}
	return resp, nil
}

func (h *host) GetProgramDependencies(_ context.Context, req *pulumirpc.GetProgramDependenciesRequest) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetPwd()
	}
	deps, err := programDependencies(dir, req.GetTransitiveDependencies())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

// resolveModule finds the file Node.js would load for `require(mod)` from dir,
// so that the SDK copy used is the program's own.
func resolveModule(ctx context.Context, nodeBin, dir, mod string) (string, error) {
	if filepath.IsAbs(mod) {
		return mod, nil
	}
	modJSON, _ := json.Marshal(mod)
	script := "try { console.log(require.resolve(" + string(modJSON) + ")); } catch (e) { " +
		"if (e.code === 'MODULE_NOT_FOUND') { console.error('It looks like the Pulumi SDK has not been installed. " +
		"Have you run npm install?'); } else { console.error(e.message); } process.exit(1); }"
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, nodeBin, "-e", script)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", errors.New(msg)
	}
	return strings.TrimSpace(string(out)), nil
}

// configEnv renders the stack configuration the way @pulumi/pulumi reads
// PULUMI_CONFIG: a JSON object keyed "<namespace>:config:<name>" (the SDK
// accepts this older key form as well as "<namespace>:<name>").
func configEnv(cfg map[string]string) (string, error) {
	out := make(map[string]string, len(cfg))
	for k, v := range cfg {
		ns, name, err := splitConfigKey(k)
		if err != nil {
			return "", err
		}
		out[ns+":config:"+name] = v
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func splitConfigKey(k string) (string, string, error) {
	i := strings.Index(k, ":")
	if i <= 0 || i == len(k)-1 {
		return "", "", fmt.Errorf("configuration key %q is not of the form <namespace>:<name>", k)
	}
	ns, name := k[:i], k[i+1:]
	if strings.HasPrefix(name, "config:") && len(name) > len("config:") {
		name = strings.TrimPrefix(name, "config:")
	}
	return ns, name, nil
}

type nodeOptions struct {
	typescript bool
	tsconfig   string
	nodeArgs   []string
}

// parseOptions reads the `runtime.options` of Pulumi.yaml.
func parseOptions(m map[string]any) (nodeOptions, error) {
	o := nodeOptions{typescript: true}
	if v, ok := m["typescript"]; ok {
		b, ok := v.(bool)
		if !ok {
			return o, errors.New("runtime option typescript must be a boolean")
		}
		o.typescript = b
	}
	if v, ok := m["tsconfig"]; ok {
		s, ok := v.(string)
		if !ok {
			return o, errors.New("runtime option tsconfig must be a string")
		}
		o.tsconfig = s
	}
	if v, ok := m["nodeargs"]; ok {
		s, ok := v.(string)
		if !ok {
			return o, errors.New("runtime option nodeargs must be a string")
		}
		o.nodeArgs = strings.Fields(s)
	}
	if v, ok := m["packagemanager"]; ok {
		if s, ok := v.(string); !ok || (s != "npm" && s != "auto") {
			return o, fmt.Errorf("runtime option packagemanager %v is not supported by this host (npm only)", v)
		}
	}
	return o, nil
}
