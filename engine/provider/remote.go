package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// connection holds connection / connection.proxy of a remote Command.
type connection struct {
	host               string
	port               int
	user               string
	password           *string
	privateKey         *string
	privateKeyPassword *string
	agentSocketPath    *string
	dialErrorLimit     int // -1: unlimited
	perDialTimeout     int // seconds; 0: none
	hostKey            *string
	proxy              *connection
}

func (c *connection) endpoint() string {
	return net.JoinHostPort(c.host, strconv.Itoa(c.port))
}

func parseConnection(v resource.PropertyValue) (*connection, error) {
	val, known, _ := plain(v)
	if !known {
		return nil, errors.New("connection is not known")
	}
	m, ok := val.(map[string]any)
	if !ok {
		return nil, errors.New("connection must be an object")
	}
	return connectionFromMap(m, "connection", true)
}

func connectionFromMap(m map[string]any, path string, allowProxy bool) (*connection, error) {
	c := &connection{port: 22, user: "root", dialErrorLimit: 10, perDialTimeout: 15}
	str := func(k string) (*string, error) {
		v, ok := m[k]
		if !ok || v == nil {
			return nil, nil
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s.%s must be a string", path, k)
		}
		return &s, nil
	}
	num := func(k string, dst *int) error {
		v, ok := m[k]
		if !ok || v == nil {
			return nil
		}
		f, ok := v.(float64)
		if !ok {
			return fmt.Errorf("%s.%s must be a number", path, k)
		}
		*dst = int(f)
		return nil
	}
	host, err := str("host")
	if err != nil {
		return nil, err
	}
	if host == nil || *host == "" {
		return nil, fmt.Errorf("%s.host is required", path)
	}
	c.host = *host
	if u, err := str("user"); err != nil {
		return nil, err
	} else if u != nil {
		c.user = *u
	}
	for _, e := range []struct {
		key string
		dst **string
	}{
		{"password", &c.password}, {"privateKey", &c.privateKey},
		{"privateKeyPassword", &c.privateKeyPassword}, {"agentSocketPath", &c.agentSocketPath},
		{"hostKey", &c.hostKey},
	} {
		s, err := str(e.key)
		if err != nil {
			return nil, err
		}
		*e.dst = s
	}
	if err := num("port", &c.port); err != nil {
		return nil, err
	}
	if err := num("dialErrorLimit", &c.dialErrorLimit); err != nil {
		return nil, err
	}
	if err := num("perDialTimeout", &c.perDialTimeout); err != nil {
		return nil, err
	}
	if p, ok := m["proxy"]; ok && p != nil {
		if !allowProxy {
			return nil, fmt.Errorf("%s.proxy: a proxy connection cannot have a proxy", path)
		}
		pm, ok := p.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s.proxy must be an object", path)
		}
		if c.proxy, err = connectionFromMap(pm, path+".proxy", false); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// errHostKey marks a host key that is not the pinned one: never retried.
type errHostKey struct{ msg string }

func (e *errHostKey) Error() string { return e.msg }

// hostKeyAlgorithms lists the signature algorithms that can prove a key of
// the given type (an RSA host key signs with rsa-sha2-* nowadays).
func hostKeyAlgorithms(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

// sshConfig builds the client configuration. Nothing secret goes into the
// errors it returns.
func (c *connection) sshConfig(label string) (*ssh.ClientConfig, func(), error) {
	cfg := &ssh.ClientConfig{User: c.user}
	if c.perDialTimeout > 0 {
		cfg.Timeout = time.Duration(c.perDialTimeout) * time.Second
	}
	closers := []func(){}
	cleanup := func() {
		for _, f := range closers {
			f()
		}
	}

	if c.hostKey != nil && strings.TrimSpace(*c.hostKey) != "" {
		want, _, _, _, err := ssh.ParseAuthorizedKey([]byte(*c.hostKey))
		if err != nil {
			return nil, cleanup, fmt.Errorf("%s.hostKey: cannot parse the host key (expected authorized_keys "+
				"format, e.g. \"ssh-ed25519 AAAA...\"): %w", label, err)
		}
		wantBytes := want.Marshal()
		cfg.HostKeyAlgorithms = hostKeyAlgorithms(want.Type())
		cfg.HostKeyCallback = func(hostname string, _ net.Addr, got ssh.PublicKey) error {
			if bytes.Equal(got.Marshal(), wantBytes) {
				return nil
			}
			return &errHostKey{fmt.Sprintf("host key mismatch for %s: the server presented %s %s, "+
				"but %s.hostKey pins %s %s", hostname, got.Type(), ssh.FingerprintSHA256(got),
				label, want.Type(), ssh.FingerprintSHA256(want))}
		}
	} else {
		// No hostKey: any host key is accepted, as with the real provider.
		cfg.HostKeyCallback = ssh.InsecureIgnoreHostKey() //nolint:gosec
	}

	if c.privateKey != nil {
		var signer ssh.Signer
		var err error
		if c.privateKeyPassword != nil {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(*c.privateKey), []byte(*c.privateKeyPassword))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(*c.privateKey))
		}
		if err != nil {
			var missing *ssh.PassphraseMissingError
			if errors.As(err, &missing) {
				return nil, cleanup, fmt.Errorf("%s.privateKey is encrypted: set %s.privateKeyPassword", label, label)
			}
			// err from x/crypto never quotes the key material.
			return nil, cleanup, fmt.Errorf("%s.privateKey: cannot parse the private key: %w", label, err)
		}
		cfg.Auth = append(cfg.Auth, ssh.PublicKeys(signer))
	}
	if c.password != nil {
		pw := *c.password
		cfg.Auth = append(cfg.Auth, ssh.Password(pw),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = pw
				}
				return answers, nil
			}))
	}
	sock := ""
	explicitAgent := false
	if c.agentSocketPath != nil && *c.agentSocketPath != "" {
		sock, explicitAgent = *c.agentSocketPath, true
	} else {
		sock = os.Getenv("SSH_AUTH_SOCK")
	}
	if sock != "" {
		conn, err := net.Dial("unix", sock)
		switch {
		case err == nil:
			closers = append(closers, func() { _ = conn.Close() })
			cfg.Auth = append(cfg.Auth, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
		case explicitAgent:
			return nil, cleanup, fmt.Errorf("%s.agentSocketPath: cannot reach the SSH agent at %s: %w", label, sock, err)
		}
	}
	if len(cfg.Auth) == 0 {
		return nil, cleanup, fmt.Errorf("%s: no way to authenticate: set privateKey, password or agentSocketPath", label)
	}
	return cfg, cleanup, nil
}

// retryDial calls f until it succeeds, or fails limit times (-1: no limit).
// Host key mismatches are final at once.
func retryDial[T any](ctx context.Context, what string, limit int, log logger, f func() (T, error)) (T, error) {
	var zero T
	delay := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		v, err := f()
		if err == nil {
			return v, nil
		}
		var hk *errHostKey
		if errors.As(err, &hk) {
			return zero, err
		}
		if limit >= 0 && attempt >= limit {
			return zero, fmt.Errorf("%s: after %d failed attempts: %w", what, attempt, err)
		}
		lim := "inf"
		if limit >= 0 {
			lim = strconv.Itoa(limit)
		}
		log.status(fmt.Sprintf("%s %d/%s failed (%v): retrying", what, attempt, lim, err))
		select {
		case <-ctx.Done():
			return zero, fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), err)
		case <-time.After(delay):
		}
		if delay = delay * 3 / 2; delay > 5*time.Second {
			delay = 5 * time.Second
		}
	}
}

// dial opens the SSH client, through the proxy if one is set.
func (c *connection) dial(ctx context.Context, log logger) (*ssh.Client, func(), error) {
	cfg, cleanup, err := c.sshConfig("connection")
	if err != nil {
		cleanup()
		return nil, func() {}, err
	}
	limit := c.dialErrorLimit
	if c.proxy == nil {
		client, err := retryDial(ctx, "Dial "+c.endpoint(), limit, log, func() (*ssh.Client, error) {
			return dialContext(ctx, c.endpoint(), cfg)
		})
		if err != nil {
			cleanup()
			return nil, func() {}, err
		}
		return client, cleanup, nil
	}

	pcfg, pcleanup, err := c.proxy.sshConfig("connection.proxy")
	all := func() { cleanup(); pcleanup() }
	if err != nil {
		all()
		return nil, func() {}, err
	}
	proxy, err := retryDial(ctx, "Dial proxy "+c.proxy.endpoint(), c.proxy.dialErrorLimit, log, func() (*ssh.Client, error) {
		return dialContext(ctx, c.proxy.endpoint(), pcfg)
	})
	if err != nil {
		all()
		return nil, func() {}, fmt.Errorf("proxy: %w", err)
	}
	client, err := retryDial(ctx, "Dial "+c.endpoint()+" through the proxy", limit, log, func() (*ssh.Client, error) {
		nc, err := proxy.Dial("tcp", c.endpoint())
		if err != nil {
			return nil, err
		}
		sc, chans, reqs, err := ssh.NewClientConn(nc, c.endpoint(), cfg)
		if err != nil {
			_ = nc.Close()
			return nil, err
		}
		return ssh.NewClient(sc, chans, reqs), nil
	})
	if err != nil {
		_ = proxy.Close()
		all()
		return nil, func() {}, fmt.Errorf("proxy: %w", err)
	}
	return client, func() { _ = proxy.Close(); all() }, nil
}

// dialContext is ssh.Dial with the TCP connect bounded by ctx and cfg.Timeout,
// and the SSH handshake bounded by cfg.Timeout.
func dialContext(ctx context.Context, addr string, cfg *ssh.ClientConfig) (*ssh.Client, error) {
	d := net.Dialer{Timeout: cfg.Timeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout > 0 {
		_ = nc.SetDeadline(time.Now().Add(cfg.Timeout))
	}
	sc, chans, reqs, err := ssh.NewClientConn(nc, addr, cfg)
	if err != nil {
		_ = nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return ssh.NewClient(sc, chans, reqs), nil
}

func runRemote(ctx context.Context, c *connection, o runOptions) (*result, error) {
	client, cleanup, err := c.dial(ctx, o.log)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	defer client.Close()

	session, err := client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("opening an SSH session on %s: %w", c.endpoint(), err)
	}
	defer session.Close()

	for k, v := range o.env {
		if err := session.Setenv(k, v); err != nil {
			return nil, fmt.Errorf("could not set environment variable %q on %s: the SSH server must accept it "+
				"(AcceptEnv in sshd_config), or prefix the command with '%s=...': %w", k, c.endpoint(), k, err)
		}
	}
	if o.addPrevious && o.previous != nil {
		for _, kv := range [][2]string{{envPreviousStdout, o.previous.stdout}, {envPreviousStderr, o.previous.stderr}} {
			if kv[1] == "" {
				continue
			}
			if err := session.Setenv(kv[0], kv[1]); err != nil {
				o.log.warning(fmt.Sprintf("Unable to set '%s' on the remote host: this only works if the SSH "+
					"server accepts the variable (AcceptEnv).", kv[0]))
			}
		}
	}
	if o.stdin != "" {
		// The session copies the reader, then closes the remote stdin (EOF).
		session.Stdin = strings.NewReader(o.stdin)
	}
	cap := newCapture(o)
	session.Stdout = captureStream{cap, 0}
	session.Stderr = captureStream{cap, 1}

	done := make(chan error, 1)
	go func() { done <- session.Run(o.command) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = session.Signal(ssh.SIGTERM)
		_ = session.Close()
		_ = client.Close()
		err = <-done
		if err == nil {
			err = ctx.Err()
		} else {
			err = fmt.Errorf("cancelled (%v)", err)
		}
	}
	cap.flush()
	if err != nil {
		return nil, cap.failed(o, err)
	}
	return cap.result(), nil
}
