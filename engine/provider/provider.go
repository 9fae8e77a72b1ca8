package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

type provider struct {
	pulumirpc.UnimplementedResourceProviderServer

	ctx    context.Context // cancelled by Cancel: stops running commands
	cancel context.CancelFunc
	log    io.Writer

	mu            sync.Mutex
	engineAddress string
	engineConn    *grpc.ClientConn
	engine        pulumirpc.EngineClient
}

func newProvider(parent context.Context, engineAddress string, log io.Writer) *provider {
	ctx, cancel := context.WithCancel(parent)
	return &provider{ctx: ctx, cancel: cancel, log: log, engineAddress: engineAddress}
}

func (p *provider) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.engineConn != nil {
		_ = p.engineConn.Close()
	}
}

func (p *provider) debugf(format string, args ...any) {
	fmt.Fprintf(p.log, "pulumi-resource-command: "+format+"\n", args...)
}

// engineClient returns a client of the engine's Log service, or nil.
func (p *provider) engineClient() pulumirpc.EngineClient {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.engine != nil || p.engineAddress == "" {
		return p.engine
	}
	conn, err := grpc.NewClient(p.engineAddress, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		p.debugf("cannot reach the engine at %s: %v", p.engineAddress, err)
		return nil
	}
	p.engineConn = conn
	p.engine = pulumirpc.NewEngineClient(conn)
	return p.engine
}

// logger sends messages about one resource to the engine. Ephemeral
// messages are shown while the step runs (like the real provider's command
// output); the others stay in the diagnostics.
type logger struct {
	p   *provider
	urn string
}

func (l logger) send(sev pulumirpc.LogSeverity, ephemeral bool, msg string) {
	c := l.p.engineClient()
	if c == nil {
		l.p.debugf("%s: %s", l.urn, msg)
		return
	}
	_, err := c.Log(context.Background(), &pulumirpc.LogRequest{
		Severity: sev, Message: msg, Urn: l.urn, Ephemeral: ephemeral,
	})
	if err != nil {
		l.p.debugf("log to engine failed: %v", err)
	}
}

func (l logger) status(msg string)  { l.send(pulumirpc.LogSeverity_INFO, true, msg) }
func (l logger) warning(msg string) { l.send(pulumirpc.LogSeverity_WARNING, false, msg) }

// ---- property helpers ----

var unmarshalOpts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: false}
var marshalOpts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true}

func unmarshal(s *structpb.Struct, label string) (resource.PropertyMap, error) {
	if s == nil {
		return resource.PropertyMap{}, nil
	}
	opts := unmarshalOpts
	opts.Label = label
	return plugin.UnmarshalProperties(s, opts)
}

func marshal(m resource.PropertyMap, label string) (*structpb.Struct, error) {
	opts := marshalOpts
	opts.Label = label
	return plugin.MarshalProperties(m, opts)
}

// plain converts v to plain Go values (string, float64, bool, []any,
// map[string]any, nil) and tells whether all of it is known and whether any
// of it is secret.
func plain(v resource.PropertyValue) (val any, known bool, secret bool) {
	known = true
	var conv func(v resource.PropertyValue) any
	conv = func(v resource.PropertyValue) any {
		switch {
		case v.IsNull():
			return nil
		case v.IsComputed():
			known = false
			return nil
		case v.IsSecret():
			secret = true
			return conv(v.SecretValue().Element)
		case v.IsOutput():
			o := v.OutputValue()
			if o.Secret {
				secret = true
			}
			if !o.Known {
				known = false
				return nil
			}
			return conv(o.Element)
		case v.IsString():
			return v.StringValue()
		case v.IsNumber():
			return v.NumberValue()
		case v.IsBool():
			return v.BoolValue()
		case v.IsArray():
			arr := v.ArrayValue()
			out := make([]any, len(arr))
			for i, e := range arr {
				out[i] = conv(e)
			}
			return out
		case v.IsObject():
			obj := v.ObjectValue()
			out := make(map[string]any, len(obj))
			for k, e := range obj {
				out[string(k)] = conv(e)
			}
			return out
		case v.IsResourceReference():
			ref := v.ResourceReferenceValue()
			return string(ref.URN)
		case v.IsAsset(), v.IsArchive():
			// Compared by content hash alone, as Pulumi's PropertyValue
			// equality (which upstream's Diff uses) does: a moved file with
			// the same bytes is no change. Without a hash (the engine sends
			// one for every asset) the value cannot be compared: unknown.
			var h string
			var err error
			if v.IsAsset() {
				a := v.AssetValue()
				err = a.EnsureHash()
				h = "asset:" + a.Hash
			} else {
				a := v.ArchiveValue()
				err = a.EnsureHash()
				h = "archive:" + a.Hash
			}
			if err != nil {
				known = false
				return nil
			}
			return contentHash(h)
		default:
			return fmt.Sprintf("%v", v.V)
		}
	}
	val = conv(v)
	return val, known, secret
}

// contentHash stands for an asset or archive in plain values.
type contentHash string

// inputsOf returns the input part of a state (everything but the outputs).
func inputsOf(state resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	for k, v := range state {
		if !outputOnly[string(k)] {
			out[k] = v
		}
	}
	return out
}

// outputsSecret: stdout/stderr are secrets when an input that reaches the
// command is secret.
func outputsSecret(ins resource.PropertyMap) bool {
	for _, k := range commandInputs {
		if v, ok := ins[resource.PropertyKey(k)]; ok && v.ContainsSecrets() {
			return true
		}
	}
	return false
}

func typeOf(urn, typ string) string {
	if typ != "" {
		return typ
	}
	// urn:pulumi:stack::project::[parent$]type::name
	parts := strings.Split(urn, "::")
	if len(parts) >= 4 {
		t := parts[2]
		if i := strings.LastIndex(t, "$"); i >= 0 {
			t = t[i+1:]
		}
		return t
	}
	return ""
}

func nameOf(urn, name string) string {
	if name != "" {
		return name
	}
	if i := strings.LastIndex(urn, "::"); i >= 0 {
		return urn[i+2:]
	}
	return "command"
}

// ---- plugin / config RPCs ----

func (p *provider) Handshake(_ context.Context, req *pulumirpc.ProviderHandshakeRequest) (*pulumirpc.ProviderHandshakeResponse, error) {
	p.mu.Lock()
	if req.GetEngineAddress() != "" {
		p.engineAddress = req.GetEngineAddress()
	}
	p.mu.Unlock()
	return &pulumirpc.ProviderHandshakeResponse{AcceptSecrets: true}, nil
}

func (p *provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (p *provider) GetSchema(_ context.Context, req *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	if req.GetSubpackageName() != "" {
		return nil, status.Errorf(codes.NotFound, "no subpackage %q", req.GetSubpackageName())
	}
	return &pulumirpc.GetSchemaResponse{Schema: schemaJSON()}, nil
}

// The provider has no configuration of its own.
func (p *provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *provider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *provider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

func (p *provider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	p.cancel()
	return &emptypb.Empty{}, nil
}

// ---- resource RPCs ----

func (p *provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	typ := typeOf(req.GetUrn(), req.GetType())
	news, err := unmarshal(req.GetNews(), "check.news")
	if err != nil {
		return nil, err
	}
	if typ == typeRemote || typ == typeCopyToRemote {
		if c, ok := news["connection"]; ok && !c.IsNull() {
			news["connection"] = withConnectionDefaults(c, false)
		}
	}
	var failures []*pulumirpc.CheckFailure
	for _, f := range validate(typ, news) {
		failures = append(failures, &pulumirpc.CheckFailure{Property: f.property, Reason: f.reason})
	}
	ins, err := marshal(news, "check.inputs")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: ins, Failures: failures}, nil
}

func (p *provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	typ := typeOf(req.GetUrn(), req.GetType())
	fields := resourceFields[typ]
	var olds resource.PropertyMap
	var err error
	if req.GetOldInputs() != nil {
		olds, err = unmarshal(req.GetOldInputs(), "diff.oldInputs")
	} else {
		var state resource.PropertyMap
		state, err = unmarshal(req.GetOlds(), "diff.olds")
		olds = inputsOf(state)
	}
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews(), "diff.news")
	if err != nil {
		return nil, err
	}
	ignored := map[string]bool{}
	for _, k := range req.GetIgnoreChanges() {
		ignored[k] = true
	}

	keys := map[string]bool{}
	for k := range olds {
		keys[string(k)] = true
	}
	for k := range news {
		keys[string(k)] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		if !outputOnly[k] && !isInternalKey(k) && !ignored[k] {
			sorted = append(sorted, k)
		}
	}
	sort.Strings(sorted)

	resp := &pulumirpc.DiffResponse{
		Changes:         pulumirpc.DiffResponse_DIFF_NONE,
		DetailedDiff:    map[string]*pulumirpc.PropertyDiff{},
		HasDetailedDiff: true,
	}
	for _, k := range sorted {
		ov, hasOld := olds[resource.PropertyKey(k)]
		nv, hasNew := news[resource.PropertyKey(k)]
		hasOld = hasOld && !ov.IsNull()
		hasNew = hasNew && !nv.IsNull()
		if !hasOld && !hasNew {
			continue
		}
		var kindOf pulumirpc.PropertyDiff_Kind
		switch {
		case !hasOld:
			kindOf = pulumirpc.PropertyDiff_ADD
		case !hasNew:
			kindOf = pulumirpc.PropertyDiff_DELETE
		default:
			o, oKnown, _ := plain(ov)
			n, nKnown, _ := plain(nv)
			if oKnown && nKnown && reflect.DeepEqual(o, n) {
				continue
			}
			kindOf = pulumirpc.PropertyDiff_UPDATE
		}
		if fields[k].replaces {
			switch kindOf {
			case pulumirpc.PropertyDiff_ADD:
				kindOf = pulumirpc.PropertyDiff_ADD_REPLACE
			case pulumirpc.PropertyDiff_DELETE:
				kindOf = pulumirpc.PropertyDiff_DELETE_REPLACE
			default:
				kindOf = pulumirpc.PropertyDiff_UPDATE_REPLACE
			}
			resp.Replaces = append(resp.Replaces, k)
		}
		resp.Diffs = append(resp.Diffs, k)
		resp.DetailedDiff[k] = &pulumirpc.PropertyDiff{Kind: kindOf, InputDiff: true}
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return resp, nil
}

// state builds the resource state: the inputs as given (secrets stay
// secrets) plus stdout and stderr.
func state(ins resource.PropertyMap, out *result, preview bool) resource.PropertyMap {
	st := resource.PropertyMap{}
	for k, v := range ins {
		st[k] = v
	}
	secret := outputsSecret(ins)
	wrap := func(s string) resource.PropertyValue {
		v := resource.NewStringProperty(s)
		if preview {
			return resource.MakeComputed(resource.NewStringProperty(""))
		}
		if secret {
			return resource.MakeSecret(v)
		}
		return v
	}
	var so, se string
	if out != nil {
		so, se = out.stdout, out.stderr
	}
	st["stdout"] = wrap(so)
	st["stderr"] = wrap(se)
	return st
}

func (p *provider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	typ := typeOf(req.GetUrn(), req.GetType())
	ins, err := unmarshal(req.GetProperties(), "create.properties")
	if err != nil {
		return nil, err
	}
	if typ == typeCopyToRemote {
		return p.createCopy(ctx, req.GetUrn(), ins, req.GetPreview())
	}
	id, err := resource.NewUniqueHex(nameOf(req.GetUrn(), req.GetName()), 8, 0)
	if err != nil {
		return nil, err
	}
	props, err := p.apply(ctx, typ, req.GetUrn(), ins, nil, req.GetPreview(), "create", "create")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

// createCopy creates a CopyToRemote: the copy (not in a preview), then an
// id of 16 hex digits without a name prefix, as upstream's.
func (p *provider) createCopy(ctx context.Context, urn string, ins resource.PropertyMap, preview bool) (*pulumirpc.CreateResponse, error) {
	if !preview {
		if err := p.copyToRemote(ctx, urn, ins); err != nil {
			return nil, err
		}
	}
	id, err := resource.NewUniqueHex("", 8, 0)
	if err != nil {
		return nil, err
	}
	props, err := marshal(copyState(ins), "create.state")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

// apply runs the first of cmds the inputs set (not in a preview) and returns
// the resource's new state; without a command, prev's output is kept.
func (p *provider) apply(ctx context.Context, typ, urn string, ins resource.PropertyMap, prev *result, preview bool, what string, cmds ...string) (*structpb.Struct, error) {
	if preview {
		return marshal(state(ins, nil, true), what+".preview")
	}
	res := prev
	for _, name := range cmds {
		if cmd, ok := stringInput(ins, name); ok {
			var err error
			if res, err = p.runCommand(ctx, typ, urn, cmd, ins, prev); err != nil {
				return nil, err
			}
			break
		}
	}
	return marshal(state(ins, res, false), what+".state")
}

func (p *provider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	typ := typeOf(req.GetUrn(), req.GetType())
	olds, err := unmarshal(req.GetOlds(), "update.olds")
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews(), "update.news")
	if err != nil {
		return nil, err
	}
	if typ == typeCopyToRemote {
		if !req.GetPreview() && copyNeeded(olds, news) {
			if err := p.copyToRemote(ctx, req.GetUrn(), news); err != nil {
				return nil, err
			}
		}
		props, err := marshal(copyState(news), "update.state")
		if err != nil {
			return nil, err
		}
		return &pulumirpc.UpdateResponse{Properties: props}, nil
	}
	// Without an update command, create runs again.
	props, err := p.apply(ctx, typ, req.GetUrn(), news, previousOutput(olds), req.GetPreview(), "update", "update", "create")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

// Delete runs `delete` with the inputs the resource was last deployed with
// (its state), as the real provider does.
func (p *provider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	typ := typeOf(req.GetUrn(), req.GetType())
	if typ == typeCopyToRemote {
		// Upstream 1.2.1 has no Delete for CopyToRemote: the copied files
		// stay on the host.
		return &emptypb.Empty{}, nil
	}
	st, err := unmarshal(req.GetProperties(), "delete.properties")
	if err != nil {
		return nil, err
	}
	if cmd, ok := stringInput(st, "delete"); ok {
		if _, err := p.runCommand(ctx, typ, req.GetUrn(), cmd, inputsOf(st), previousOutput(st)); err != nil {
			return nil, err
		}
	}
	return &emptypb.Empty{}, nil
}

// Read (refresh/import) cannot observe anything: the state stays as it is.
func (p *provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	inputs := req.GetInputs()
	if inputs == nil && req.GetProperties() != nil {
		st, err := unmarshal(req.GetProperties(), "read.properties")
		if err != nil {
			return nil, err
		}
		if inputs, err = marshal(inputsOf(st), "read.inputs"); err != nil {
			return nil, err
		}
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: inputs}, nil
}

// stringInput returns a known, non-empty string input.
func stringInput(m resource.PropertyMap, key string) (string, bool) {
	v, ok := m[resource.PropertyKey(key)]
	if !ok {
		return "", false
	}
	val, known, _ := plain(v)
	s, isString := val.(string)
	return s, known && isString && s != ""
}

func previousOutput(st resource.PropertyMap) *result {
	so, _ := stringInput(st, "stdout")
	se, _ := stringInput(st, "stderr")
	return &result{stdout: so, stderr: se}
}

// result of a command run.
type result struct{ stdout, stderr string }

// runCommand runs cmd for a resource of type typ with inputs ins; prev holds
// the previous stdout/stderr (for addPreviousOutputInEnv).
func (p *provider) runCommand(ctx context.Context, typ, urn, cmd string, ins resource.PropertyMap, prev *result) (*result, error) {
	// Cancel (the engine's) or the call's own context stop the command.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(p.ctx, cancel)
	defer stop()

	if k, ok := unknownInput(ins); ok {
		return nil, fmt.Errorf("input %q is not known; cannot run the command", k)
	}
	secret := outputsSecret(ins)
	opts := runOptions{
		command:  cmd,
		secret:   secret,
		log:      logger{p: p, urn: urn},
		previous: prev,
	}
	if v, ok := ins["stdin"]; ok {
		val, _, _ := plain(v)
		opts.stdin, _ = val.(string)
	}
	if v, ok := ins["environment"]; ok {
		val, _, _ := plain(v)
		if m, ok := val.(map[string]any); ok {
			opts.env = map[string]string{}
			for k, e := range m {
				if s, ok := e.(string); ok {
					opts.env[k] = s
				}
			}
		}
	}
	opts.addPrevious = true
	if v, ok := ins["addPreviousOutputInEnv"]; ok {
		if val, _, _ := plain(v); val == false {
			opts.addPrevious = false
		}
	}
	logging := "stdoutAndStderr"
	if v, ok := ins["logging"]; ok {
		if val, _, _ := plain(v); val != nil {
			logging, _ = val.(string)
		}
	}
	opts.logStdout = !secret && (logging == "stdout" || logging == "stdoutAndStderr")
	opts.logStderr = !secret && (logging == "stderr" || logging == "stdoutAndStderr")

	switch typ {
	case typeLocal:
		if v, ok := ins["dir"]; ok {
			val, _, _ := plain(v)
			opts.dir, _ = val.(string)
		}
		if v, ok := ins["interpreter"]; ok {
			val, _, _ := plain(v)
			if arr, ok := val.([]any); ok {
				for _, e := range arr {
					if s, ok := e.(string); ok {
						opts.interpreter = append(opts.interpreter, s)
					}
				}
			}
		}
		return runLocal(ctx, opts)
	case typeRemote:
		v, ok := ins["connection"]
		if !ok {
			return nil, errors.New("missing required property 'connection'")
		}
		conn, err := parseConnection(v)
		if err != nil {
			return nil, err
		}
		return runRemote(ctx, conn, opts)
	default:
		return nil, fmt.Errorf("unknown resource type %q", typ)
	}
}
