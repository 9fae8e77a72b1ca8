package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestConfigEnv(t *testing.T) {
	got, err := configEnv(map[string]string{
		"proj:port":         "2525",
		"aws:config:region": "eu-west-1",
		"proj:a:b":          "x",
	})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(got), &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"proj:config:port":  "2525",
		"aws:config:region": "eu-west-1",
		"proj:config:a:b":   "x",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, m[k], v, m)
		}
	}
	if _, err := configEnv(map[string]string{"nonamespace": "x"}); err == nil {
		t.Error("a key without namespace must be rejected")
	}
}

func TestParseOptions(t *testing.T) {
	o, err := parseOptions(map[string]any{})
	if err != nil || !o.typescript {
		t.Fatalf("typescript must default to true: %+v %v", o, err)
	}
	o, err = parseOptions(map[string]any{"typescript": false, "nodeargs": "--max-old-space-size=4096 --trace-warnings"})
	if err != nil || o.typescript || len(o.nodeArgs) != 2 {
		t.Fatalf("unexpected %+v %v", o, err)
	}
	if _, err := parseOptions(map[string]any{"packagemanager": "yarn"}); err == nil {
		t.Fatal("yarn is not supported and must be refused")
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFindPulumiPackages(t *testing.T) {
	dir := t.TempDir()
	nm := filepath.Join(dir, "node_modules")
	writeJSON(t, filepath.Join(nm, "@pulumi", "command", "package.json"), map[string]any{
		"name": "@pulumi/command", "version": "1.2.1",
		"pulumi": map[string]any{"resource": true, "name": "command", "version": "1.2.1"},
	})
	writeJSON(t, filepath.Join(nm, "@pulumi", "pulumi", "package.json"), map[string]any{
		"name": "@pulumi/pulumi", "version": "3.248.0",
	})
	writeJSON(t, filepath.Join(nm, "other", "package.json"), map[string]any{"name": "other", "version": "1.0.0"})
	// A nested copy of another plugin, reached through a symlinked package.
	real := filepath.Join(dir, "elsewhere", "pkg")
	writeJSON(t, filepath.Join(real, "package.json"), map[string]any{"name": "linked", "version": "0.1.0"})
	writeJSON(t, filepath.Join(real, "node_modules", "@pulumi", "random", "package.json"), map[string]any{
		"name": "@pulumi/random", "version": "4.16.0", "pulumi": map[string]any{"resource": true},
	})
	if err := os.Symlink(real, filepath.Join(nm, "linked")); err != nil {
		t.Fatal(err)
	}

	pkgs, errs := findPulumiPackages(dir)
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	got := map[string]string{}
	for _, p := range pkgs {
		if p.Kind != "resource" {
			t.Errorf("kind %q", p.Kind)
		}
		got[p.Name] = p.Version
	}
	if got["command"] != "v1.2.1" || got["random"] != "v4.16.0" || len(got) != 2 {
		t.Fatalf("unexpected plugins: %v", got)
	}
}

func TestProgramDependencies(t *testing.T) {
	dir := t.TempDir()
	writeJSON(t, filepath.Join(dir, "package.json"), map[string]any{
		"dependencies": map[string]string{"@pulumi/pulumi": "^3", "missing": "1"},
	})
	writeJSON(t, filepath.Join(dir, "node_modules", "@pulumi", "pulumi", "package.json"),
		map[string]any{"name": "@pulumi/pulumi", "version": "3.248.0"})
	deps, err := programDependencies(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 1 || deps[0].Name != "@pulumi/pulumi" || deps[0].Version != "3.248.0" {
		t.Fatalf("unexpected %v", deps)
	}
}
