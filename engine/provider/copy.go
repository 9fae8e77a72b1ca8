package main

// command:remote:CopyToRemote, behaving as in pulumi-command v1.2.1
// (provider/pkg/provider/remote/copy.go and copyController.go there; this is
// our own implementation of that behaviour):
//
//   - inputs: connection (secret), source (a FileAsset, a StringAsset or a
//     path FileArchive), remotePath, triggers; the outputs are the inputs.
//   - Check: connection defaults as for remote.Command; a source that is not
//     an asset or archive, an asset that is neither a path nor text (a
//     RemoteAsset), or an archive that is not a path (AssetArchive,
//     RemoteArchive) fails, reported on the properties "asset"/"archive" as
//     upstream does.
//   - Diff: only triggers replace; source (compared by hash only), remotePath
//     and connection changes are updates.
//   - Create copies over SFTP; Update copies again only when the source's
//     hash or remotePath changed; Delete leaves the host alone.
//   - Copy rules (source | dest is a dir | dest missing | dest is a file):
//     dir    | dest/dir            | dest/dir (dest made)| error
//     dir/   | dest/x for x in dir | dest/x (dest made)  | error
//     file   | dest/file           | dest (parents made) | dest, overwritten
//     text   | error               | dest (parents made) | dest, overwritten
//     Archives such as .tgz are copied as they are, not unpacked. No mode is
//     set: new files get the SFTP server's default (0666 &^ umask with
//     OpenSSH), existing files keep theirs; nor are local modes copied.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pkg/sftp"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

const typeCopyToRemote = "command:remote:CopyToRemote"

// copySource is the known, unwrapped source of a CopyToRemote.
type copySource struct {
	asset   *resource.Asset
	archive *resource.Archive
}

// sourceOf unwraps v (secret and output wrappers) to an asset or archive.
// known is false when v or what it wraps is unknown.
func sourceOf(v resource.PropertyValue) (src copySource, known bool) {
	v, known = unwrap(v)
	switch {
	case !known:
		return src, false
	case v.IsAsset():
		return copySource{asset: v.AssetValue()}, true
	case v.IsArchive():
		return copySource{archive: v.ArchiveValue()}, true
	}
	return src, true
}

// hash is the content hash the engine computed for the source ("" if none).
func (s copySource) hash() string {
	switch {
	case s.asset != nil:
		return s.asset.Hash
	case s.archive != nil:
		return s.archive.Hash
	}
	return ""
}

// checkSource reports what upstream's Check reports about a source; an
// unknown source (a preview with an unresolved output) is left alone.
func checkSource(v resource.PropertyValue) []failure {
	src, known := sourceOf(v)
	switch {
	case !known:
		return nil
	case src.asset == nil && src.archive == nil:
		return []failure{{"asset", "either asset or archive must be set"}}
	case src.asset != nil && !src.asset.IsPath() && !src.asset.IsText():
		return []failure{{"asset", "asset must be a path-based file asset or a text asset"}}
	case src.archive != nil && !src.archive.IsPath():
		return []failure{{"archive", "archive must be a path to a file or directory"}}
	}
	return nil
}

// copyState is the state of a CopyToRemote: its inputs, with the
// connection a secret even if it was sent in the clear (upstream marks it
// secret in its outputs; the Node.js SDK also asks for it through
// additionalSecretOutputs).
func copyState(ins resource.PropertyMap) resource.PropertyMap {
	st := ins.Copy()
	if c, ok := st["connection"]; ok && !c.IsNull() && !c.ContainsSecrets() {
		st["connection"] = resource.MakeSecret(c)
	}
	return st
}

// copyNeeded tells whether an update has to copy again: as upstream, only
// when the content hash or the destination changed. A connection change
// alone copies nothing. A missing hash (never sent by the engine, which
// hashes every asset) counts as a change, to err on the side of copying.
func copyNeeded(olds, news resource.PropertyMap) bool {
	o, _ := sourceOf(olds["source"])
	n, _ := sourceOf(news["source"])
	if o.hash() == "" || n.hash() == "" || o.hash() != n.hash() {
		return true
	}
	op, _ := stringInput(olds, "remotePath")
	np, _ := stringInput(news, "remotePath")
	return op != np
}

// copyToRemote copies the source of a CopyToRemote with inputs ins over one
// SSH connection (with the same dialing, retries and host key pinning as
// remote.Command) and one SFTP session.
func (p *provider) copyToRemote(ctx context.Context, urn string, ins resource.PropertyMap) error {
	if k, ok := unknownInput(ins); ok {
		return fmt.Errorf("input %q is not known; cannot copy", k)
	}
	src, _ := sourceOf(ins["source"])
	if src.asset == nil && src.archive == nil {
		return errors.New("source must be an asset or an archive")
	}
	remotePath, ok := stringInput(ins, "remotePath")
	if !ok {
		return errors.New("remotePath must be a non-empty string")
	}
	cv, ok := ins["connection"]
	if !ok {
		return errors.New("missing required property 'connection'")
	}
	conn, err := parseConnection(cv)
	if err != nil {
		return err
	}

	// Cancel (the engine's) or the call's own context abort the transfer:
	// closing the SSH client fails every pending SFTP request.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopCancel := context.AfterFunc(p.ctx, cancel)
	defer stopCancel()

	log := logger{p: p, urn: urn}
	client, cleanup, err := conn.dial(ctx, log)
	if err != nil {
		return err
	}
	defer cleanup()
	defer client.Close()
	stopClose := context.AfterFunc(ctx, func() { _ = client.Close() })
	defer stopClose()

	sc, err := sftp.NewClient(client, sftp.UseConcurrentWrites(true))
	if err != nil {
		return fmt.Errorf("starting SFTP on %s (the SSH server needs an sftp subsystem): %w", conn.endpoint(), err)
	}
	defer sc.Close()

	if src.asset != nil && src.asset.IsText() {
		p.debugf("%s: copying a text asset to %s:%s", urn, conn.endpoint(), remotePath)
		err = copyText(sc, src.asset.Text, remotePath)
	} else {
		local := ""
		if src.asset != nil {
			local = src.asset.Path
		} else {
			local = src.archive.Path
		}
		p.debugf("%s: copying %s to %s:%s", urn, local, conn.endpoint(), remotePath)
		err = copyPath(sc, local, remotePath)
	}
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("copy cancelled: %w", err)
	}
	return err
}

// statRemote stats a remote path; a missing path gives nil, nil.
func statRemote(sc *sftp.Client, p string) (fs.FileInfo, error) {
	fi, err := sc.Stat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("failed to stat remote path %s: %w", p, err)
	}
	return fi, nil
}

// copyText writes a StringAsset's text to the file remotePath.
func copyText(sc *sftp.Client, text, remotePath string) error {
	fi, err := statRemote(sc, remotePath)
	if err != nil {
		return err
	}
	// A text asset has no file name to copy into a directory under.
	if fi != nil && fi.IsDir() {
		return fmt.Errorf("remote path %s is a directory; when using a text asset, remotePath must be a file path", remotePath)
	}
	if err := sc.MkdirAll(path.Dir(remotePath)); err != nil {
		return fmt.Errorf("failed to create parent directories for %s: %w", remotePath, err)
	}
	f, err := sc.Create(remotePath)
	if err != nil {
		return fmt.Errorf("failed to create remote file %s: %w", remotePath, err)
	}
	if _, err := f.Write([]byte(text)); err != nil {
		_ = f.Close()
		return fmt.Errorf("failed to write text content to remote path %s: %w", remotePath, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("failed to write text content to remote path %s: %w", remotePath, err)
	}
	return nil
}

// copyPath copies the local file or directory local to remotePath (see the
// table at the top of this file). A local path ending in "/" copies a
// directory's contents rather than the directory, as upstream (and rsync) do.
func copyPath(sc *sftp.Client, local, remotePath string) error {
	li, err := os.Stat(local)
	if err != nil {
		return err
	}
	dst, err := statRemote(sc, remotePath)
	if err != nil {
		return err
	}
	if !li.IsDir() {
		target := remotePath
		switch {
		case dst != nil && dst.IsDir():
			target = path.Join(remotePath, filepath.Base(local))
		case dst == nil:
			if err := sc.MkdirAll(path.Dir(remotePath)); err != nil {
				return fmt.Errorf("failed to create parent directories for %s: %w", remotePath, err)
			}
		}
		return copyFile(sc, local, target)
	}

	if dst != nil && !dst.IsDir() {
		return fmt.Errorf("remote path %s exists but is not a directory", remotePath)
	}
	if dst == nil {
		if err := sc.MkdirAll(remotePath); err != nil {
			return fmt.Errorf("failed to create remote directory %s: %w", remotePath, err)
		}
	}
	target := remotePath
	if !strings.HasSuffix(local, "/") {
		target = path.Join(remotePath, filepath.Base(local))
	}
	return copyTree(sc, local, target)
}

// copyFile copies one local file over the remote file dst (created or
// truncated; its mode is left as the server makes it).
func copyFile(sc *sftp.Client, local, dst string) error {
	in, err := os.Open(local)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := sc.Create(dst)
	if err != nil {
		return fmt.Errorf("failed to create remote file %s: %w", dst, err)
	}
	if _, err := out.ReadFrom(in); err != nil {
		_ = out.Close()
		return fmt.Errorf("failed to copy file %s to remote path %s: %w", local, dst, err)
	}
	// Close reports a failed final write; upstream ignores it, we do not.
	if err := out.Close(); err != nil {
		return fmt.Errorf("failed to copy file %s to remote path %s: %w", local, dst, err)
	}
	return nil
}

// copyTree copies the directory local recursively to dst, one file at a
// time, creating missing directories and overwriting existing files. Like
// upstream, symbolic links are not recreated: a link to a file is copied as
// that file's content, a link to a directory fails.
func copyTree(sc *sftp.Client, local, dst string) error {
	return fs.WalkDir(os.DirFS(local), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		remote := path.Join(dst, filepath.ToSlash(rel))
		if !d.IsDir() {
			return copyFile(sc, filepath.Join(local, rel), remote)
		}
		fi, err := statRemote(sc, remote)
		if err != nil {
			return err
		}
		switch {
		case fi == nil:
			if err := sc.Mkdir(remote); err != nil {
				return fmt.Errorf("failed to create remote directory %s: %w", remote, err)
			}
		case !fi.IsDir():
			return fmt.Errorf("remote path %s exists but is not a directory", remote)
		}
		return nil
	})
}
