package main

import (
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"slices"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

const (
	typeLocal  = "command:local:Command"
	typeRemote = "command:remote:Command"
)

type kind int

const (
	kString kind = iota
	kNumber
	kBool
	kStringList
	kStringMap
	kAnyList
	kLogging
	kConnection
	kProxy
	kSource // an asset or archive (CopyToRemote's source)
)

type field struct {
	kind     kind
	required bool
	// replaces: a change to this input replaces the resource (the Diff
	// reports it as *_REPLACE).
	replaces    bool
	unsupported string // non-empty: setting it fails Check with this reason
}

// Inputs of each resource type, as @pulumi/command 1.2.1 sends them: the
// ones both command types have, and each type's own.
var resourceFields = map[string]map[string]field{
	typeLocal: withCommonFields(map[string]field{
		"dir":         {kind: kString},
		"interpreter": {kind: kStringList},
		"assetPaths": {kind: kStringList,
			unsupported: "assetPaths is not supported by this build of the command provider"},
		"archivePaths": {kind: kStringList,
			unsupported: "archivePaths is not supported by this build of the command provider"},
	}),
	typeRemote: withCommonFields(map[string]field{
		"connection": {kind: kConnection, required: true},
	}),
	// CopyToRemote has no command fields; only triggers replace (upstream:
	// provider:"replaceOnChanges" on triggers alone, and an Update method, so
	// every other change is an update).
	typeCopyToRemote: {
		"connection": {kind: kConnection, required: true},
		"source":     {kind: kSource, required: true},
		"remotePath": {kind: kString, required: true},
		"triggers":   {kind: kAnyList, replaces: true},
	},
}

func withCommonFields(own map[string]field) map[string]field {
	all := map[string]field{
		"create":                 {kind: kString},
		"update":                 {kind: kString},
		"delete":                 {kind: kString},
		"stdin":                  {kind: kString},
		"triggers":               {kind: kAnyList, replaces: true},
		"environment":            {kind: kStringMap},
		"logging":                {kind: kLogging},
		"addPreviousOutputInEnv": {kind: kBool},
	}
	maps.Copy(all, own)
	return all
}

// Fields of a connection (and, without "proxy", of connection.proxy).
var connectionFields = map[string]kind{
	"host":               kString,
	"port":               kNumber,
	"user":               kString,
	"password":           kString,
	"privateKey":         kString,
	"privateKeyPassword": kString,
	"agentSocketPath":    kString,
	"dialErrorLimit":     kNumber,
	"perDialTimeout":     kNumber,
	"hostKey":            kString,
	"proxy":              kProxy,
}

// Outputs that are not inputs.
var outputOnly = map[string]bool{"stdout": true, "stderr": true, "assets": true, "archive": true}

// Inputs whose values reach the command line or environment of the command
// that runs; when one of them is secret, stdout and stderr are returned as
// secrets too (and not logged), since error messages quote the command.
// stdin is left out, as in Pulumi's own provider (which propagates no
// secrecy to stdout at all): it is data the command reads, never printed in
// an error, and a secret stdin must not hide the command's own error text.
var commandInputs = []string{"create", "update", "delete", "environment", "interpreter", "dir"}

var loggingValues = map[string]bool{"stdout": true, "stderr": true, "stdoutAndStderr": true, "none": true}

type failure struct{ property, reason string }

// validate checks the known parts of the inputs of a resource of type typ.
func validate(typ string, news resource.PropertyMap) []failure {
	fields, ok := resourceFields[typ]
	if !ok {
		return []failure{{"", fmt.Sprintf("unknown resource type %q", typ)}}
	}
	var fails []failure
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := fields[k]
		v, has := news[resource.PropertyKey(k)]
		if !has || v.IsNull() {
			if f.required {
				fails = append(fails, failure{k, fmt.Sprintf("missing required property '%s'", k)})
			}
			continue
		}
		if f.unsupported != "" {
			fails = append(fails, failure{k, f.unsupported})
			continue
		}
		fails = append(fails, checkKind(k, f.kind, v)...)
	}
	for k := range news {
		name := string(k)
		if _, ok := fields[name]; !ok && !outputOnly[name] && !isInternalKey(name) {
			fails = append(fails, failure{name, fmt.Sprintf("unknown property '%s' for %s", name, typ)})
		}
	}
	return fails
}

func isInternalKey(k string) bool { return len(k) > 2 && k[:2] == "__" }

func checkKind(path string, k kind, v resource.PropertyValue) []failure {
	if k == kSource {
		return checkSource(v)
	}
	val, known, _ := plain(v)
	if !known {
		// Only known parts can be checked; objects are checked field by field.
		if k != kConnection && k != kProxy {
			return nil
		}
	}
	bad := func(want string) []failure {
		return []failure{{path, fmt.Sprintf("'%s' must be %s", path, want)}}
	}
	switch k {
	case kString:
		if _, ok := val.(string); !ok {
			return bad("a string")
		}
	case kNumber:
		if _, ok := val.(float64); !ok {
			return bad("a number")
		}
	case kBool:
		if _, ok := val.(bool); !ok {
			return bad("a boolean")
		}
	case kStringList:
		if arr, ok := val.([]any); !ok || !allStrings(slices.Values(arr)) {
			return bad("a list of strings")
		}
	case kStringMap:
		if m, ok := val.(map[string]any); !ok || !allStrings(maps.Values(m)) {
			return bad("a map of strings")
		}
	case kAnyList:
		if _, ok := val.([]any); !ok {
			return bad("a list")
		}
	case kLogging:
		s, ok := val.(string)
		if !ok || !loggingValues[s] {
			return bad(`one of "stdout", "stderr", "stdoutAndStderr", "none"`)
		}
	case kConnection, kProxy:
		obj, ok := objectOf(v)
		if !ok {
			if isUnknown(v) {
				return nil
			}
			return bad("an object")
		}
		var fails []failure
		if h, has := obj["host"]; !has || h.IsNull() {
			fails = append(fails, failure{path + ".host", fmt.Sprintf("missing required property '%s.host'", path)})
		}
		for fk, fv := range obj {
			name := string(fk)
			fkind, ok := connectionFields[name]
			if !ok || (k == kProxy && fkind == kProxy) {
				fails = append(fails, failure{path + "." + name, fmt.Sprintf("unknown property '%s.%s'", path, name)})
				continue
			}
			if fv.IsNull() {
				continue
			}
			fails = append(fails, checkKind(path+"."+name, fkind, fv)...)
		}
		return fails
	}
	return nil
}

// unwrap strips the secret and output wrappers around v. known is false
// when v, or a value it wraps, is unknown (computed, or an output whose
// value is not known yet); inner is then meaningless.
func unwrap(v resource.PropertyValue) (inner resource.PropertyValue, known bool) {
	for {
		switch {
		case v.IsComputed():
			return v, false
		case v.IsSecret():
			v = v.SecretValue().Element
		case v.IsOutput():
			o := v.OutputValue()
			if !o.Known {
				return v, false
			}
			v = o.Element
		default:
			return v, true
		}
	}
}

func allStrings(vals iter.Seq[any]) bool {
	for e := range vals {
		if _, ok := e.(string); !ok {
			return false
		}
	}
	return true
}

// objectOf returns the object inside v (through secret and output wrappers).
func objectOf(v resource.PropertyValue) (resource.PropertyMap, bool) {
	v, known := unwrap(v)
	if !known || !v.IsObject() {
		return nil, false
	}
	return v.ObjectValue(), true
}

func isUnknown(v resource.PropertyValue) bool {
	_, known := unwrap(v)
	return !known
}

// unknownInput names an input whose value is not known yet (ok false when
// every input is known): a resource cannot act on such inputs.
func unknownInput(ins resource.PropertyMap) (name string, ok bool) {
	for k, v := range ins {
		if isUnknown(v) {
			return string(k), true
		}
	}
	return "", false
}

// withConnectionDefaults fills in the defaults the real provider applies
// (port 22, user root, dialErrorLimit 10, perDialTimeout 15), keeping the
// secret wrapper. The Node.js SDK already sends them; other SDKs may not.
func withConnectionDefaults(v resource.PropertyValue, isProxy bool) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return resource.MakeSecret(withConnectionDefaults(v.SecretValue().Element, isProxy))
	case v.IsObject():
		in := v.ObjectValue()
		out := resource.PropertyMap{}
		maps.Copy(out, in)
		setDefault := func(k string, d resource.PropertyValue) {
			if cur, has := out[resource.PropertyKey(k)]; !has || cur.IsNull() {
				out[resource.PropertyKey(k)] = d
			}
		}
		setDefault("port", resource.NewNumberProperty(22))
		setDefault("user", resource.NewStringProperty("root"))
		setDefault("dialErrorLimit", resource.NewNumberProperty(10))
		setDefault("perDialTimeout", resource.NewNumberProperty(15))
		if p, has := out["proxy"]; has && !p.IsNull() && !isProxy {
			out["proxy"] = withConnectionDefaults(p, true)
		}
		return resource.NewObjectProperty(out)
	default:
		return v
	}
}

// schemaJSON is a minimal package schema: enough for `pulumi package
// get-schema` and tools that list resources, not for SDK generation.
func schemaJSON() string {
	str := map[string]any{"type": "string"}
	strSecret := map[string]any{"type": "string", "secret": true}
	num := map[string]any{"type": "number"}
	integer := map[string]any{"type": "integer"}
	boolean := map[string]any{"type": "boolean"}
	strList := map[string]any{"type": "array", "items": str}
	strMap := map[string]any{"type": "object", "additionalProperties": str}
	// triggers carry replaceOnChanges as in upstream's schema (the Node.js
	// SDK sets the same as a resource option; the engine reads neither from
	// here during an update).
	anyList := map[string]any{"type": "array", "items": map[string]any{"$ref": "pulumi.json#/Any"},
		"replaceOnChanges": true}
	logging := map[string]any{"$ref": "#/types/command:local:Logging"}
	remoteLogging := map[string]any{"$ref": "#/types/command:remote:Logging"}

	connProps := map[string]any{
		"host": str, "port": num, "user": str, "password": strSecret, "privateKey": strSecret,
		"privateKeyPassword": strSecret, "agentSocketPath": str, "dialErrorLimit": integer,
		"perDialTimeout": integer, "hostKey": str,
	}
	conn := maps.Clone(connProps)
	conn["proxy"] = map[string]any{"$ref": "#/types/command:remote:ProxyConnection"}

	common := func(extra map[string]any) map[string]any {
		m := map[string]any{
			"create": str, "update": str, "delete": str, "stdin": str, "triggers": anyList,
			"environment": strMap, "addPreviousOutputInEnv": boolean,
		}
		maps.Copy(m, extra)
		return m
	}
	withOutputs := func(in map[string]any) map[string]any {
		m := map[string]any{"stdout": str, "stderr": str}
		maps.Copy(m, in)
		return m
	}
	localIn := common(map[string]any{"dir": str, "interpreter": strList, "logging": logging})
	remoteIn := common(map[string]any{
		"logging":    remoteLogging,
		"connection": map[string]any{"$ref": "#/types/command:remote:Connection", "secret": true},
	})
	// CopyToRemote's outputs are its inputs. pulumi.json#/Asset stands for
	// "asset or archive", as in upstream's schema.
	copyIn := map[string]any{
		"connection": map[string]any{"$ref": "#/types/command:remote:Connection", "secret": true},
		"source":     map[string]any{"$ref": "pulumi.json#/Asset"},
		"remotePath": str,
		"triggers":   anyList,
	}
	copyRequired := []any{"connection", "source", "remotePath"}
	enum := func() map[string]any {
		return map[string]any{"type": "string", "enum": []any{
			map[string]any{"value": "stdout"}, map[string]any{"value": "stderr"},
			map[string]any{"value": "stdoutAndStderr"}, map[string]any{"value": "none"},
		}}
	}
	s := map[string]any{
		"name":        "command",
		"version":     version,
		"displayName": "Command",
		"description": "Runs commands locally or over SSH (smtp-port build of the command provider).",
		"types": map[string]any{
			"command:remote:Connection": map[string]any{
				"type": "object", "properties": conn, "required": []any{"host"},
			},
			"command:remote:ProxyConnection": map[string]any{
				"type": "object", "properties": connProps, "required": []any{"host"},
			},
			"command:local:Logging":  enum(),
			"command:remote:Logging": enum(),
		},
		"resources": map[string]any{
			typeLocal: map[string]any{
				"inputProperties": localIn,
				"properties":      withOutputs(localIn),
				"required":        []any{"stdout", "stderr"},
			},
			typeRemote: map[string]any{
				"inputProperties": remoteIn,
				"properties":      withOutputs(remoteIn),
				"required":        []any{"connection", "stdout", "stderr"},
				"requiredInputs":  []any{"connection"},
			},
			typeCopyToRemote: map[string]any{
				"description":     "Copy an Asset or Archive to a remote host.",
				"inputProperties": copyIn,
				"properties":      copyIn,
				"required":        copyRequired,
				"requiredInputs":  copyRequired,
			},
		},
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}
