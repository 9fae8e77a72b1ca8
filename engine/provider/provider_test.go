package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const remoteURN = "urn:pulumi:dev::proj::command:remote:Command::r"
const localURN = "urn:pulumi:dev::proj::command:local:Command::l"

func testProvider() *provider {
	return newProvider(context.Background(), "", io.Discard)
}

// orFatal takes the (value, error) a call returns and gives the value, or
// fails the test on the error: orFatal[T](t)(call(...)).
func orFatal[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func mustMarshal(t *testing.T, m resource.PropertyMap) *structpb.Struct {
	t.Helper()
	return orFatal[*structpb.Struct](t)(marshal(m, "test"))
}

// check runs the provider's Check on the inputs news of the resource urn.
func check(t *testing.T, urn string, news resource.PropertyMap) *pulumirpc.CheckResponse {
	t.Helper()
	return orFatal[*pulumirpc.CheckResponse](t)(testProvider().Check(context.Background(),
		&pulumirpc.CheckRequest{Urn: urn, News: mustMarshal(t, news)}))
}

func conn(extra map[string]any) resource.PropertyValue {
	m := map[string]any{"host": "example.org", "privateKey": "KEY"}
	for k, v := range extra {
		m[k] = v
	}
	obj := resource.NewPropertyMapFromMap(m)
	obj["privateKey"] = resource.MakeSecret(obj["privateKey"])
	return resource.MakeSecret(resource.NewObjectProperty(obj))
}

func TestCheckAppliesConnectionDefaultsAndKeepsSecrets(t *testing.T) {
	news := resource.PropertyMap{"connection": conn(nil), "create": resource.NewStringProperty("true")}
	resp := check(t, remoteURN, news)
	if len(resp.Failures) != 0 {
		t.Fatalf("unexpected failures: %v", resp.Failures)
	}
	ins := orFatal[resource.PropertyMap](t)(unmarshal(resp.Inputs, "t"))
	c := ins["connection"]
	if !c.IsSecret() {
		t.Fatal("connection lost its secret wrapper")
	}
	obj := c.SecretValue().Element.ObjectValue()
	if obj["port"].NumberValue() != 22 || obj["user"].StringValue() != "root" ||
		obj["dialErrorLimit"].NumberValue() != 10 || obj["perDialTimeout"].NumberValue() != 15 {
		t.Fatalf("defaults not applied: %v", obj)
	}
	if !obj["privateKey"].IsSecret() {
		t.Fatal("privateKey lost its secret wrapper")
	}
}

func TestCheckFailures(t *testing.T) {
	news := resource.PropertyMap{
		"create":  resource.NewNumberProperty(3),
		"logging": resource.NewStringProperty("loud"),
		"bogus":   resource.NewStringProperty("x"),
	}
	resp := check(t, remoteURN, news)
	got := map[string]bool{}
	for _, f := range resp.Failures {
		got[f.Property] = true
	}
	for _, want := range []string{"connection", "create", "logging", "bogus"} {
		if !got[want] {
			t.Errorf("no failure for %s: %v", want, resp.Failures)
		}
	}
}

func TestCheckUnknownConnectionIsAccepted(t *testing.T) {
	news := resource.PropertyMap{"connection": resource.MakeComputed(resource.NewStringProperty(""))}
	resp := check(t, remoteURN, news)
	if len(resp.Failures) != 0 {
		t.Fatalf("unexpected failures: %v", resp.Failures)
	}
}

func diff(t *testing.T, urn string, olds, news resource.PropertyMap) *pulumirpc.DiffResponse {
	t.Helper()
	return orFatal[*pulumirpc.DiffResponse](t)(testProvider().Diff(context.Background(), &pulumirpc.DiffRequest{
		Urn: urn, OldInputs: mustMarshal(t, olds), News: mustMarshal(t, news),
	}))
}

func TestDiff(t *testing.T) {
	base := resource.PropertyMap{
		"connection": conn(nil),
		"create":     resource.NewStringProperty("a"),
		"triggers":   resource.NewArrayProperty([]resource.PropertyValue{resource.NewStringProperty("1")}),
	}
	same := base.Copy()
	// Secretness alone is not a change.
	same["create"] = resource.MakeSecret(resource.NewStringProperty("a"))
	if r := diff(t, remoteURN, base, same); r.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("expected no diff, got %v", r)
	}

	upd := base.Copy()
	upd["create"] = resource.NewStringProperty("b")
	upd["connection"] = conn(map[string]any{"port": 2222.0})
	r := diff(t, remoteURN, base, upd)
	if r.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(r.Replaces) != 0 {
		t.Fatalf("expected an in-place update, got %v", r)
	}
	if r.DetailedDiff["create"].Kind != pulumirpc.PropertyDiff_UPDATE ||
		r.DetailedDiff["connection"].Kind != pulumirpc.PropertyDiff_UPDATE {
		t.Fatalf("bad detailed diff: %v", r.DetailedDiff)
	}

	trig := base.Copy()
	trig["triggers"] = resource.NewArrayProperty([]resource.PropertyValue{resource.NewStringProperty("2")})
	r = diff(t, remoteURN, base, trig)
	if len(r.Replaces) != 1 || r.Replaces[0] != "triggers" ||
		r.DetailedDiff["triggers"].Kind != pulumirpc.PropertyDiff_UPDATE_REPLACE {
		t.Fatalf("expected a replacement on triggers, got %v", r)
	}

	unk := base.Copy()
	unk["create"] = resource.MakeComputed(resource.NewStringProperty(""))
	if r := diff(t, remoteURN, base, unk); r.DetailedDiff["create"] == nil {
		t.Fatalf("unknown input must count as a change: %v", r)
	}

	added := base.Copy()
	added["delete"] = resource.NewStringProperty("rm x")
	if r := diff(t, remoteURN, base, added); r.DetailedDiff["delete"].Kind != pulumirpc.PropertyDiff_ADD {
		t.Fatalf("expected ADD for delete: %v", r)
	}
}

func TestLocalCreateUpdateDelete(t *testing.T) {
	p := testProvider()
	dir := t.TempDir()
	ins := resource.PropertyMap{
		"create":      resource.NewStringProperty("cat; echo \"$FOO\"; echo warn >&2"),
		"update":      resource.NewStringProperty("echo prev=$PULUMI_COMMAND_STDOUT"),
		"delete":      resource.NewStringProperty("echo gone > deleted.txt"),
		"stdin":       resource.NewStringProperty("in-"),
		"environment": resource.NewObjectProperty(resource.PropertyMap{"FOO": resource.NewStringProperty("bar")}),
		"dir":         resource.NewStringProperty(dir),
	}
	cr, err := p.Create(context.Background(), &pulumirpc.CreateRequest{Urn: localURN, Properties: mustMarshal(t, ins)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cr.Id, "l") || len(cr.Id) != 9 {
		t.Fatalf("unexpected id %q", cr.Id)
	}
	st, _ := unmarshal(cr.Properties, "t")
	if got := st["stdout"].StringValue(); got != "in-bar" {
		t.Fatalf("stdout = %q", got)
	}
	if got := st["stderr"].StringValue(); got != "warn" {
		t.Fatalf("stderr = %q", got)
	}

	news := ins.Copy()
	news["stdin"] = resource.NewStringProperty("other")
	ur, err := p.Update(context.Background(), &pulumirpc.UpdateRequest{
		Urn: localURN, Olds: cr.Properties, News: mustMarshal(t, news),
	})
	if err != nil {
		t.Fatal(err)
	}
	st2, _ := unmarshal(ur.Properties, "t")
	if got := st2["stdout"].StringValue(); got != "prev=in-bar" {
		t.Fatalf("update stdout = %q", got)
	}

	if _, err := p.Delete(context.Background(), &pulumirpc.DeleteRequest{Urn: localURN, Properties: ur.Properties}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "deleted.txt")); err != nil || string(b) != "gone\n" {
		t.Fatalf("delete did not run in dir: %q %v", b, err)
	}
}

func TestLocalFailureCarriesOutput(t *testing.T) {
	p := testProvider()
	ins := resource.PropertyMap{"create": resource.NewStringProperty("echo visible; echo oops >&2; exit 4")}
	_, err := p.Create(context.Background(), &pulumirpc.CreateRequest{Urn: localURN, Properties: mustMarshal(t, ins)})
	if err == nil {
		t.Fatal("expected an error")
	}
	for _, want := range []string{"exit status 4", "visible", "oops", "running \"echo visible"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestSecretCommandGivesSecretOutputsAndHidesThem(t *testing.T) {
	p := testProvider()
	ins := resource.PropertyMap{"create": resource.MakeSecret(resource.NewStringProperty("echo s3cr3t"))}
	cr, err := p.Create(context.Background(), &pulumirpc.CreateRequest{Urn: localURN, Properties: mustMarshal(t, ins)})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := unmarshal(cr.Properties, "t")
	if !st["stdout"].IsSecret() || !st["stderr"].IsSecret() {
		t.Fatal("outputs of a secret command must be secret")
	}

	bad := resource.PropertyMap{"create": resource.MakeSecret(resource.NewStringProperty("echo s3cr3t; exit 1"))}
	_, err = p.Create(context.Background(), &pulumirpc.CreateRequest{Urn: localURN, Properties: mustMarshal(t, bad)})
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("error must not reveal a secret command or its output: %v", err)
	}
}

func TestPreviewOutputsAreUnknown(t *testing.T) {
	p := testProvider()
	ins := resource.PropertyMap{"create": resource.NewStringProperty("exit 1")}
	cr, err := p.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: localURN, Properties: mustMarshal(t, ins), Preview: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := unmarshal(cr.Properties, "t")
	if !st["stdout"].IsComputed() {
		t.Fatal("stdout must be unknown in a preview")
	}
}

func TestParseConnection(t *testing.T) {
	c, err := parseConnection(conn(map[string]any{
		"port": 2222.0, "user": "deploy", "dialErrorLimit": -1.0,
		"proxy": map[string]any{"host": "bastion", "password": "pw"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.endpoint() != "example.org:2222" || c.user != "deploy" || c.dialErrorLimit != -1 ||
		c.privateKey == nil || *c.privateKey != "KEY" {
		t.Fatalf("bad connection: %+v", c)
	}
	if c.proxy == nil || c.proxy.endpoint() != "bastion:22" || c.proxy.user != "root" || c.proxy.perDialTimeout != 15 {
		t.Fatalf("bad proxy: %+v", c.proxy)
	}
	if _, err := parseConnection(resource.NewObjectProperty(resource.PropertyMap{})); err == nil {
		t.Fatal("a connection without host must be rejected")
	}
}

func TestBadHostKeyAndKeyErrorsDoNotLeak(t *testing.T) {
	bad := "not-a-key"
	c := &connection{host: "h", port: 22, user: "u", hostKey: &bad}
	if _, _, err := c.sshConfig("connection"); err == nil || !strings.Contains(err.Error(), "hostKey") {
		t.Fatalf("expected a hostKey error, got %v", err)
	}
	key := "-----BEGIN OPENSSH PRIVATE KEY-----\nZZZZsecretmaterialZZZZ\n-----END OPENSSH PRIVATE KEY-----\n"
	c = &connection{host: "h", port: 22, user: "u", privateKey: &key}
	_, _, err := c.sshConfig("connection")
	if err == nil || strings.Contains(err.Error(), "secretmaterial") {
		t.Fatalf("expected a parse error without key material, got %v", err)
	}
}

func TestSchemaIsJSON(t *testing.T) {
	if s := schemaJSON(); !strings.Contains(s, `"name":"command"`) || !strings.Contains(s, `"version":"`+version+`"`) {
		t.Fatalf("schema: %s", s)
	}
}
