package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// packageJSON holds the parts of a package.json that matter here.
type packageJSON struct {
	Name            string            `json:"name"`
	Version         string            `json:"version"`
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
	Pulumi          struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

func readPackageJSON(path string) (*packageJSON, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p packageJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

// findPulumiPackages walks dir/node_modules (and nested node_modules, through
// symlinks, each real directory once) for packages that carry a Pulumi
// resource plugin.
func findPulumiPackages(dir string) ([]*pulumirpc.PackageDependency, []error) {
	var errs []error
	seen := map[string]bool{}
	found := map[string]*pulumirpc.PackageDependency{}

	var walkModules func(nm string)
	visitPackage := func(pkgDir string) {
		real, err := filepath.EvalSymlinks(pkgDir)
		if err != nil {
			return
		}
		if seen[real] {
			return
		}
		seen[real] = true
		p, err := readPackageJSON(filepath.Join(real, "package.json"))
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		} else if p.Pulumi.Resource {
			dep, err := pluginOf(p)
			if err != nil {
				errs = append(errs, err)
			} else {
				found[dep.Name+"@"+dep.Version] = dep
			}
		}
		walkModules(filepath.Join(real, "node_modules"))
	}
	walkModules = func(nm string) {
		entries, err := os.ReadDir(nm)
		if err != nil {
			return
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") {
				continue
			}
			p := filepath.Join(nm, name)
			if strings.HasPrefix(name, "@") {
				scoped, err := os.ReadDir(p)
				if err != nil {
					continue
				}
				for _, s := range scoped {
					visitPackage(filepath.Join(p, s.Name()))
				}
				continue
			}
			visitPackage(p)
		}
	}
	walkModules(filepath.Join(dir, "node_modules"))

	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*pulumirpc.PackageDependency, 0, len(keys))
	for _, k := range keys {
		out = append(out, found[k])
	}
	return out, errs
}

// pluginOf derives the plugin name and version as the upstream host does:
// "pulumi.name" or the @pulumi/ scope-less package name; "pulumi.version" or
// the package version, with a leading "v".
func pluginOf(p *packageJSON) (*pulumirpc.PackageDependency, error) {
	name := p.Pulumi.Name
	if name == "" {
		if !strings.HasPrefix(p.Name, "@pulumi/") {
			return nil, fmt.Errorf("package %s declares a Pulumi plugin without pulumi.name", p.Name)
		}
		name = strings.TrimPrefix(p.Name, "@pulumi/")
	}
	version := p.Pulumi.Version
	if version == "" {
		version = p.Version
	}
	if version == "" {
		return nil, fmt.Errorf("package %s has no version", p.Name)
	}
	if !strings.HasPrefix(version, "v") {
		version = "v" + version
	}
	return &pulumirpc.PackageDependency{
		Name:    name,
		Kind:    "resource",
		Version: version,
		Server:  p.Pulumi.Server,
	}, nil
}

// programDependencies lists the program's npm dependencies with the versions
// installed in node_modules (all installed top-level packages if transitive).
func programDependencies(dir string, transitive bool) ([]*pulumirpc.DependencyInfo, error) {
	nm := filepath.Join(dir, "node_modules")
	var names []string
	if transitive {
		entries, err := os.ReadDir(nm)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", nm, err)
		}
		for _, e := range entries {
			n := e.Name()
			if strings.HasPrefix(n, ".") {
				continue
			}
			if strings.HasPrefix(n, "@") {
				scoped, err := os.ReadDir(filepath.Join(nm, n))
				if err != nil {
					continue
				}
				for _, s := range scoped {
					names = append(names, n+"/"+s.Name())
				}
				continue
			}
			names = append(names, n)
		}
	} else {
		p, err := readPackageJSON(filepath.Join(dir, "package.json"))
		if err != nil {
			return nil, fmt.Errorf("could not read package.json: %w", err)
		}
		for n := range p.Dependencies {
			names = append(names, n)
		}
		for n := range p.DevDependencies {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := make([]*pulumirpc.DependencyInfo, 0, len(names))
	for _, n := range names {
		p, err := readPackageJSON(filepath.Join(nm, filepath.FromSlash(n), "package.json"))
		if err != nil {
			continue // declared but not installed
		}
		out = append(out, &pulumirpc.DependencyInfo{Name: n, Version: p.Version})
	}
	return out, nil
}
