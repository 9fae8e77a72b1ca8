package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const copyURN = "urn:pulumi:dev::proj::command:remote:CopyToRemote::c"

// secretConn wraps a connection map as the Node.js SDK sends it: the whole
// connection secret, and the private key secret inside.
func secretConn(m map[string]any) resource.PropertyValue {
	obj := resource.NewPropertyMapFromMap(m)
	if k, ok := obj["privateKey"]; ok {
		obj["privateKey"] = resource.MakeSecret(k)
	}
	return resource.MakeSecret(resource.NewObjectProperty(obj))
}

func fileAsset(t *testing.T, p string) resource.PropertyValue {
	t.Helper()
	return resource.NewAssetProperty(orFatal[*resource.Asset](t)(resource.NewPathAsset(p)))
}

func textAsset(t *testing.T, s string) resource.PropertyValue {
	t.Helper()
	return resource.NewAssetProperty(orFatal[*resource.Asset](t)(resource.NewTextAsset(s)))
}

func dirArchive(t *testing.T, p string) resource.PropertyValue {
	t.Helper()
	return resource.NewArchiveProperty(orFatal[*resource.Archive](t)(resource.NewPathArchive(p)))
}

func copyInputs(srv *testSSHServer, source resource.PropertyValue, remotePath string) resource.PropertyMap {
	return resource.PropertyMap{
		"connection": secretConn(srv.connection(nil)),
		"source":     source,
		"remotePath": resource.NewStringProperty(remotePath),
	}
}

func createCopy(t *testing.T, ins resource.PropertyMap) (*pulumirpc.CreateResponse, error) {
	t.Helper()
	return testProvider().Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: copyURN, Properties: mustMarshal(t, ins),
	})
}

func mustCreateCopy(t *testing.T, ins resource.PropertyMap) *pulumirpc.CreateResponse {
	t.Helper()
	return orFatal[*pulumirpc.CreateResponse](t)(createCopy(t, ins))
}

// updateCopy updates a CopyToRemote whose state is olds.
func updateCopy(t *testing.T, olds *structpb.Struct, news resource.PropertyMap) *pulumirpc.UpdateResponse {
	t.Helper()
	return orFatal[*pulumirpc.UpdateResponse](t)(testProvider().Update(context.Background(), &pulumirpc.UpdateRequest{
		Urn: copyURN, Olds: olds, News: mustMarshal(t, news),
	}))
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	return orFatal[[]byte](t)(os.ReadFile(p))
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// randomBytes gives binary content larger than one SFTP packet (32 KB), so
// that the concurrent writes of a file are exercised and reassembled.
func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// tree lists the files under root with their contents ("dir/" for dirs).
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			out[rel+"/"] = ""
			return nil
		}
		out[rel] = string(readFile(t, p))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCopyToRemoteCreateFileAsset(t *testing.T) {
	srv := startSSHServer(t, false)
	src := filepath.Join(t.TempDir(), "host-script.sh")
	content := randomBytes(t, 200*1024+17)
	writeFile(t, src, content)
	// Parent directories of remotePath are created (upstream since #1161).
	dst := filepath.Join(t.TempDir(), "a", "b", "script.sh")

	cr := mustCreateCopy(t, copyInputs(srv, fileAsset(t, src), dst))
	if got := readFile(t, dst); !bytes.Equal(got, content) {
		t.Fatalf("remote file differs from the source (%d bytes vs %d)", len(got), len(content))
	}
	// Upstream's id: NewUniqueHex("", 8, 0), 8 hex digits without a name prefix.
	if !regexp.MustCompile(`^[0-9a-f]{8}$`).MatchString(cr.Id) {
		t.Fatalf("id %q", cr.Id)
	}
	st, err := unmarshal(cr.Properties, "t")
	if err != nil {
		t.Fatal(err)
	}
	// Outputs are the inputs: no stdout/stderr, the connection secret, the
	// source an asset that holds a hash and the path, never the content.
	keys := []string{}
	for k := range st {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "connection,remotePath,source" {
		t.Fatalf("state keys %v", keys)
	}
	if !st["connection"].IsSecret() {
		t.Fatal("connection must be secret in the state")
	}
	a := st["source"].AssetValue()
	want, _ := resource.NewPathAsset(src)
	if a.Hash != want.Hash || a.Path != src || a.Text != "" {
		t.Fatalf("state source %+v", a)
	}
	if strings.Contains(cr.Properties.String(), string(content[:64])) {
		t.Fatal("state carries the file content")
	}
}

func TestCopyToRemoteConnectionSecretEvenIfSentPlain(t *testing.T) {
	srv := startSSHServer(t, false)
	dst := filepath.Join(t.TempDir(), "f")
	ins := copyInputs(srv, textAsset(t, "x"), dst)
	ins["connection"] = resource.NewObjectProperty(resource.NewPropertyMapFromMap(srv.connection(nil)))
	st, _ := unmarshal(mustCreateCopy(t, ins).Properties, "t")
	if !st["connection"].IsSecret() {
		t.Fatal("connection must be secret in the state")
	}
}

func TestCopyToRemoteFileIntoExistingDirAndOverwrite(t *testing.T) {
	srv := startSSHServer(t, false)
	src := filepath.Join(t.TempDir(), "services")
	writeFile(t, src, []byte("new"))
	dir := t.TempDir()
	// An existing directory receives the file under its own name.
	mustCreateCopy(t, copyInputs(srv, fileAsset(t, src), dir))
	if got := string(readFile(t, filepath.Join(dir, "services"))); got != "new" {
		t.Fatalf("dir/services = %q", got)
	}
	// An existing file is overwritten (truncated: no old tail left) and keeps
	// its mode, since no mode is sent.
	dst := filepath.Join(dir, "existing")
	writeFile(t, dst, []byte("old content that is longer"))
	if err := os.Chmod(dst, 0o600); err != nil {
		t.Fatal(err)
	}
	mustCreateCopy(t, copyInputs(srv, fileAsset(t, src), dst))
	if got := string(readFile(t, dst)); got != "new" {
		t.Fatalf("overwritten file = %q", got)
	}
	if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode changed to %v", fi.Mode())
	}
}

func TestCopyToRemoteTextAsset(t *testing.T) {
	srv := startSSHServer(t, false)
	dst := filepath.Join(t.TempDir(), "x", "motd")
	mustCreateCopy(t, copyInputs(srv, textAsset(t, "hello\n"), dst))
	if got := string(readFile(t, dst)); got != "hello\n" {
		t.Fatalf("text copy = %q", got)
	}
	// A text asset has no name: a directory destination is an error.
	_, err := createCopy(t, copyInputs(srv, textAsset(t, "hello\n"), filepath.Dir(dst)))
	if err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("expected a directory error, got %v", err)
	}
}

func TestCopyToRemoteDirectoryArchive(t *testing.T) {
	srv := startSSHServer(t, false)
	src := filepath.Join(t.TempDir(), "payload")
	writeFile(t, filepath.Join(src, "file1"), []byte("1"))
	writeFile(t, filepath.Join(src, "one", "file2"), []byte("2"))
	writeFile(t, filepath.Join(src, "one", "two", "file3"), randomBytes(t, 70000))
	want := tree(t, src)

	// Without a trailing slash the directory itself is copied into remotePath
	// (created with its parents when missing).
	dst := filepath.Join(t.TempDir(), "deep", "dest")
	mustCreateCopy(t, copyInputs(srv, dirArchive(t, src), dst))
	if got := tree(t, filepath.Join(dst, "payload")); !maps.Equal(got, want) {
		t.Fatalf("copied tree %v, want %v", keysOf(got), keysOf(want))
	}
	// A second copy overwrites what is there (no error on existing dirs).
	writeFile(t, filepath.Join(src, "file1"), []byte("changed"))
	mustCreateCopy(t, copyInputs(srv, dirArchive(t, src), dst))
	if got := string(readFile(t, filepath.Join(dst, "payload", "file1"))); got != "changed" {
		t.Fatalf("file1 after the second copy = %q", got)
	}

	// With a trailing slash its contents are copied.
	dst2 := t.TempDir()
	mustCreateCopy(t, copyInputs(srv, dirArchive(t, src+"/"), dst2))
	if got := tree(t, dst2); !maps.Equal(got, tree(t, src)) {
		t.Fatalf("copied contents %v", keysOf(got))
	}

	// A directory onto an existing file fails.
	f := filepath.Join(t.TempDir(), "file")
	writeFile(t, f, []byte("x"))
	if _, err := createCopy(t, copyInputs(srv, dirArchive(t, src), f)); err == nil ||
		!strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("expected an error copying a directory onto a file, got %v", err)
	}
}

func TestCopyToRemoteArchiveFileIsNotUnpacked(t *testing.T) {
	srv := startSSHServer(t, false)
	src := filepath.Join(t.TempDir(), "bundle.tar")
	// A real (empty) tar: 1024 zero bytes. It must arrive as the same file.
	content := make([]byte, 1024)
	writeFile(t, src, content)
	dst := filepath.Join(t.TempDir(), "bundle.tar")
	mustCreateCopy(t, copyInputs(srv, dirArchive(t, src), dst))
	if got := readFile(t, dst); !bytes.Equal(got, content) {
		t.Fatal("the archive file was not copied as is")
	}
}

func TestCopyToRemotePreviewCopiesNothing(t *testing.T) {
	srv := startSSHServer(t, false)
	src := filepath.Join(t.TempDir(), "f")
	writeFile(t, src, []byte("x"))
	dst := filepath.Join(t.TempDir(), "f")
	_, err := testProvider().Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: copyURN, Properties: mustMarshal(t, copyInputs(srv, fileAsset(t, src), dst)), Preview: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if srv.connections.Load() != 0 {
		t.Fatal("a preview must not connect to the host")
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Fatalf("preview wrote the file: %v", err)
	}
}

// Update copies again only when the source's hash or remotePath changed.
func TestCopyToRemoteUpdate(t *testing.T) {
	srv := startSSHServer(t, false)
	src := filepath.Join(t.TempDir(), "f")
	writeFile(t, src, []byte("v1"))
	dst := filepath.Join(t.TempDir(), "f")
	ins := copyInputs(srv, fileAsset(t, src), dst)
	cr := mustCreateCopy(t, ins)

	// Same hash, same path, another connection setting: no copy, no
	// connection at all.
	before := srv.connections.Load()
	writeFile(t, dst, []byte("edited on the host"))
	same := ins.Copy()
	same["connection"] = secretConn(srv.connection(map[string]any{"perDialTimeout": 7.0}))
	ur := updateCopy(t, cr.Properties, same)
	if got := string(readFile(t, dst)); got != "edited on the host" || srv.connections.Load() != before {
		t.Fatalf("an update without a content or path change copied (remote %q)", got)
	}
	st, _ := unmarshal(ur.Properties, "t")
	if c, _ := objectOf(st["connection"]); c["perDialTimeout"].NumberValue() != 7 || !st["connection"].IsSecret() {
		t.Fatalf("the state must take the new (secret) connection: %v", st["connection"])
	}

	// New content: copied.
	writeFile(t, src, []byte("v2"))
	changed := ins.Copy()
	changed["source"] = fileAsset(t, src)
	ur = updateCopy(t, ur.Properties, changed)
	if got := string(readFile(t, dst)); got != "v2" {
		t.Fatalf("changed asset not copied: %q", got)
	}

	// New remotePath, same content as the last state: copied there; the old
	// file stays.
	dst2 := filepath.Join(t.TempDir(), "g")
	moved := changed.Copy()
	moved["remotePath"] = resource.NewStringProperty(dst2)
	updateCopy(t, ur.Properties, moved)
	if got := string(readFile(t, dst2)); got != "v2" {
		t.Fatalf("not copied to the new path: %q", got)
	}
	if _, err := os.Stat(dst); err != nil {
		t.Fatalf("the old copy must stay: %v", err)
	}
}

func TestCopyToRemoteDeleteLeavesTheHostAlone(t *testing.T) {
	srv := startSSHServer(t, false)
	dst := filepath.Join(t.TempDir(), "f")
	cr := mustCreateCopy(t, copyInputs(srv, textAsset(t, "x"), dst))
	before := srv.connections.Load()
	if _, err := testProvider().Delete(context.Background(), &pulumirpc.DeleteRequest{
		Urn: copyURN, Id: cr.Id, Properties: cr.Properties,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dst); err != nil || srv.connections.Load() != before {
		t.Fatalf("delete touched the host (file: %v)", err)
	}
}

func TestCopyToRemoteHostKeyPinning(t *testing.T) {
	// The server offers ed25519 and RSA host keys.
	srv := startSSHServer(t, true)
	dir := t.TempDir()
	for _, typ := range []string{"ssh-ed25519", "ssh-rsa"} {
		// Pinning either of its keys works: the negotiation is restricted to
		// the pinned key's algorithm, so the server proves that very key.
		dst := filepath.Join(dir, "ok-"+typ)
		ins := copyInputs(srv, textAsset(t, "x"), dst)
		ins["connection"] = secretConn(srv.connection(map[string]any{"hostKey": srv.hostKeys[typ]}))
		if _, err := createCopy(t, ins); err != nil {
			t.Fatalf("pinned %s key refused: %v", typ, err)
		}
	}

	// Another ed25519 key: refused at once (not retried), nothing written.
	other, _ := genEd25519(t)
	dst := filepath.Join(dir, "refused")
	ins := copyInputs(srv, textAsset(t, "x"), dst)
	ins["connection"] = secretConn(srv.connection(map[string]any{
		"hostKey": authorizedKey(other.PublicKey()), "dialErrorLimit": 5.0,
	}))
	before := srv.connections.Load()
	start := time.Now()
	_, err := createCopy(t, ins)
	if err == nil || !strings.Contains(err.Error(), "host key mismatch") {
		t.Fatalf("expected a host key mismatch, got %v", err)
	}
	if n := srv.connections.Load() - before; n != 1 || time.Since(start) > 3*time.Second {
		t.Fatalf("a host key mismatch must not be retried (%d connections, %v)", n, time.Since(start))
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Fatalf("file written despite the wrong host key: %v", err)
	}
}

func TestCopyToRemoteCheck(t *testing.T) {
	srv := startSSHServer(t, false)
	checkCopy := func(news resource.PropertyMap) (resource.PropertyMap, map[string]string) {
		t.Helper()
		resp := check(t, copyURN, news)
		fails := map[string]string{}
		for _, f := range resp.Failures {
			fails[f.Property] = f.Reason
		}
		return orFatal[resource.PropertyMap](t)(unmarshal(resp.Inputs, "t")), fails
	}
	src := filepath.Join(t.TempDir(), "f")
	writeFile(t, src, []byte("x"))

	ok := copyInputs(srv, fileAsset(t, src), "/tmp/x")
	ok["connection"] = secretConn(map[string]any{"host": "h", "privateKey": "k"})
	ins, fails := checkCopy(ok)
	if len(fails) != 0 {
		t.Fatalf("file asset refused: %v", fails)
	}
	c, _ := objectOf(ins["connection"])
	if !ins["connection"].IsSecret() || c["port"].NumberValue() != 22 || c["user"].StringValue() != "root" {
		t.Fatalf("connection defaults or secrecy lost: %v", ins["connection"])
	}
	if ins["source"].AssetValue().Hash == "" {
		t.Fatal("the source lost its hash")
	}

	for name, src := range map[string]resource.PropertyValue{
		"text":    textAsset(t, "x"),
		"archive": dirArchive(t, filepath.Dir(src)),
		"unknown": resource.MakeComputed(resource.NewStringProperty("")),
	} {
		in := ok.Copy()
		in["source"] = src
		if _, fails := checkCopy(in); len(fails) != 0 {
			t.Errorf("%s source refused: %v", name, fails)
		}
	}

	uri := &resource.Asset{URI: "https://example.org/x", Hash: "abc"}
	assetsArchive := &resource.Archive{Assets: map[string]any{}, Hash: "abc"}
	for name, c := range map[string]struct {
		src  resource.PropertyValue
		prop string
	}{
		"remote asset":  {resource.NewAssetProperty(uri), "asset"},
		"asset archive": {resource.NewArchiveProperty(assetsArchive), "archive"},
		"string":        {resource.NewStringProperty("/etc/services"), "asset"},
	} {
		in := ok.Copy()
		in["source"] = c.src
		if _, fails := checkCopy(in); fails[c.prop] == "" {
			t.Errorf("%s: expected a failure on %q, got %v", name, c.prop, fails)
		}
	}

	_, fails = checkCopy(resource.PropertyMap{"bogus": resource.NewStringProperty("x")})
	for _, want := range []string{"connection", "source", "remotePath", "bogus"} {
		if fails[want] == "" {
			t.Errorf("no failure for %s: %v", want, fails)
		}
	}
}

// Diff as upstream's default: triggers replace, everything else updates;
// assets compare by hash only.
func TestCopyToRemoteDiff(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	b := filepath.Join(dir, "b")
	writeFile(t, a, []byte("same bytes"))
	writeFile(t, b, []byte("same bytes"))
	connA := secretConn(map[string]any{"host": "h", "privateKey": "k", "port": 22.0})
	base := resource.PropertyMap{
		"connection": connA,
		"source":     fileAsset(t, a),
		"remotePath": resource.NewStringProperty("/opt/x"),
		"triggers":   resource.NewArrayProperty([]resource.PropertyValue{resource.NewStringProperty("1")}),
	}
	kinds := func(r *pulumirpc.DiffResponse) string {
		out := []string{}
		for k, v := range r.DetailedDiff {
			out = append(out, k+"="+v.Kind.String())
		}
		sort.Strings(out)
		return strings.Join(out, ",")
	}

	// Same content under another local path: no change (hash equality).
	same := base.Copy()
	same["source"] = fileAsset(t, b)
	if r := diff(t, copyURN, base, same); r.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("same hash must be no change: %v", kinds(r))
	}

	cases := []struct {
		name, key string
		val       resource.PropertyValue
		want      string
		replace   bool
	}{
		{"changed asset", "source", textAsset(t, "other bytes"), "source=UPDATE", false},
		{"remotePath", "remotePath", resource.NewStringProperty("/opt/y"), "remotePath=UPDATE", false},
		{"connection", "connection", secretConn(map[string]any{"host": "h2", "privateKey": "k", "port": 22.0}),
			"connection=UPDATE", false},
		{"triggers", "triggers", resource.NewArrayProperty([]resource.PropertyValue{resource.NewStringProperty("2")}),
			"triggers=UPDATE_REPLACE", true},
	}
	for _, c := range cases {
		news := base.Copy()
		news[resource.PropertyKey(c.key)] = c.val
		r := diff(t, copyURN, base, news)
		if r.Changes != pulumirpc.DiffResponse_DIFF_SOME || kinds(r) != c.want || (len(r.Replaces) > 0) != c.replace {
			t.Errorf("%s: got %s replaces=%v", c.name, kinds(r), r.Replaces)
		}
	}

	// Diff against the state (no old inputs): same result for an unchanged
	// resource.
	resp, err := testProvider().Diff(context.Background(), &pulumirpc.DiffRequest{
		Urn: copyURN, Olds: mustMarshal(t, copyState(base)), News: mustMarshal(t, same),
	})
	if err != nil || resp.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("diff against the state: %v %v", kinds(resp), err)
	}
}

func keysOf(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// An asset in a remote.Command's triggers (as in upstream's CopyToRemote
// example) compares by hash too: the same bytes elsewhere do not replace the
// command, other bytes do.
func TestCommandTriggersCompareAssetsByHash(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a", "b"} {
		writeFile(t, filepath.Join(dir, f), []byte("same"))
	}
	writeFile(t, filepath.Join(dir, "c"), []byte("other"))
	with := func(f string) resource.PropertyMap {
		return resource.PropertyMap{
			"connection": conn(nil),
			"create":     resource.NewStringProperty("true"),
			"triggers":   resource.NewArrayProperty([]resource.PropertyValue{fileAsset(t, filepath.Join(dir, f))}),
		}
	}
	if r := diff(t, remoteURN, with("a"), with("b")); r.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("same hash must be no change: %v", r)
	}
	if r := diff(t, remoteURN, with("a"), with("c")); len(r.Replaces) != 1 || r.Replaces[0] != "triggers" {
		t.Fatalf("another hash must replace: %v", r)
	}
}
