package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// testSSHServer is an in-process SSH server on 127.0.0.1 that serves only
// the "sftp" subsystem, on the real file system (tests use absolute paths
// under t.TempDir()). It accepts one client key, and counts connections so
// that tests can tell whether a step reached the host at all.
type testSSHServer struct {
	port        int
	clientKey   string            // PEM private key the server accepts
	hostKeys    map[string]string // key type -> authorized_keys line of the server's host key
	connections atomic.Int32
}

func genEd25519(t *testing.T) (ssh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return signer, string(pem.EncodeToMemory(block))
}

func authorizedKey(k ssh.PublicKey) string { return string(ssh.MarshalAuthorizedKey(k)) }

// startSSHServer starts a server whose host keys are an ed25519 key and,
// with withRSA, an RSA key too (to check that pinning one key restricts the
// negotiation to that key's algorithm).
func startSSHServer(t *testing.T, withRSA bool) *testSSHServer {
	t.Helper()
	clientSigner, clientPEM := genEd25519(t)
	hostSigner, _ := genEd25519(t)
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if string(k.Marshal()) == string(clientSigner.PublicKey().Marshal()) {
				return nil, nil
			}
			return nil, errUnauthorized
		},
	}
	cfg.AddHostKey(hostSigner)
	srv := &testSSHServer{clientKey: clientPEM, hostKeys: map[string]string{
		ssh.KeyAlgoED25519: authorizedKey(hostSigner.PublicKey()),
	}}
	if withRSA {
		rk, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := ssh.NewSignerFromKey(rk)
		if err != nil {
			t.Fatal(err)
		}
		cfg.AddHostKey(rs)
		srv.hostKeys[ssh.KeyAlgoRSA] = authorizedKey(rs.PublicKey())
	}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.port = lis.Addr().(*net.TCPAddr).Port
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = lis.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := lis.Accept()
			if err != nil {
				return
			}
			srv.connections.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				serveSSH(nc, cfg)
			}()
		}
	}()
	return srv
}

type unauthorized struct{}

func (unauthorized) Error() string { return "unauthorized" }

var errUnauthorized = unauthorized{}

func serveSSH(nc net.Conn, cfg *ssh.ServerConfig) {
	defer nc.Close()
	_, chans, reqs, err := ssh.NewServerConn(nc, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nch := range chans {
		if nch.ChannelType() != "session" {
			_ = nch.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			return
		}
		go func() {
			defer ch.Close()
			for req := range creqs {
				// Payload of a subsystem request: string name.
				if req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "sftp" {
					_ = req.Reply(true, nil)
					s, err := sftp.NewServer(ch)
					if err != nil {
						return
					}
					_ = s.Serve()
					_ = s.Close()
					return
				}
				_ = req.Reply(false, nil)
			}
		}()
	}
}

// connection returns a CopyToRemote/Command connection input (secret, with
// the private key secret inside too, as the Node.js SDK sends it) for this
// server; extra adds fields such as hostKey.
func (s *testSSHServer) connection(extra map[string]any) map[string]any {
	m := map[string]any{
		"host": "127.0.0.1", "port": float64(s.port), "user": "test",
		"privateKey": s.clientKey, "dialErrorLimit": 1.0, "perDialTimeout": 5.0,
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func (s *testSSHServer) String() string { return "127.0.0.1:" + strconv.Itoa(s.port) }
