package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	envPreviousStdout = "PULUMI_COMMAND_STDOUT"
	envPreviousStderr = "PULUMI_COMMAND_STDERR"
)

type runOptions struct {
	command     string
	stdin       string
	env         map[string]string
	addPrevious bool
	previous    *result
	logStdout   bool
	logStderr   bool
	// secret: an input reaching the command is secret, so neither the
	// command nor its output may appear in logs or error messages.
	secret bool
	log    logger

	// local only
	dir         string
	interpreter []string
}

// capture collects a command's output: stdout, stderr, both interleaved
// (for error messages), and sends complete lines to the engine as
// ephemeral status messages when logging is on.
type capture struct {
	mu       sync.Mutex
	stdout   bytes.Buffer
	stderr   bytes.Buffer
	combined bytes.Buffer
	pending  [2][]byte
	log      logger
	enabled  [2]bool
}

type captureStream struct {
	c      *capture
	stream int // 0 stdout, 1 stderr
}

func newCapture(o runOptions) *capture {
	return &capture{log: o.log, enabled: [2]bool{o.logStdout, o.logStderr}}
}

func (s captureStream) Write(b []byte) (int, error) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.stream == 0 {
		c.stdout.Write(b)
	} else {
		c.stderr.Write(b)
	}
	c.combined.Write(b)
	if c.enabled[s.stream] {
		c.pending[s.stream] = append(c.pending[s.stream], b...)
		for {
			i := bytes.IndexByte(c.pending[s.stream], '\n')
			if i < 0 {
				break
			}
			line := string(c.pending[s.stream][:i])
			c.pending[s.stream] = c.pending[s.stream][i+1:]
			c.log.status(line)
		}
	}
	return len(b), nil
}

func (c *capture) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.pending {
		if c.enabled[i] && len(c.pending[i]) > 0 {
			c.log.status(string(c.pending[i]))
			c.pending[i] = nil
		}
	}
}

func (c *capture) result() *result {
	return &result{
		stdout: strings.TrimSuffix(c.stdout.String(), "\n"),
		stderr: strings.TrimSuffix(c.stderr.String(), "\n"),
	}
}

// failed builds the error for a command that did not succeed, in the form
// of the real provider: "<err>: running "<cmd>":\n<stdout+stderr>".
func (c *capture) failed(o runOptions, err error) error {
	if o.secret {
		return fmt.Errorf("%w: running a command with secret inputs (command and output not shown)", err)
	}
	return fmt.Errorf("%w: running %q:\n%s", err, o.command, c.combined.String())
}

func runLocal(ctx context.Context, o runOptions) (*result, error) {
	args := []string{"/bin/sh", "-c"}
	if len(o.interpreter) > 0 {
		args = append([]string{}, o.interpreter...)
	}
	args = append(args, o.command)

	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The whole process group: /bin/sh and what it started.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
	cmd.WaitDelay = 10 * time.Second
	if o.dir != "" {
		cmd.Dir = o.dir
	} else if wd, err := os.Getwd(); err == nil {
		cmd.Dir = wd
	}
	cmd.Env = os.Environ()
	for k, v := range o.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if o.addPrevious && o.previous != nil {
		if o.previous.stdout != "" {
			cmd.Env = append(cmd.Env, envPreviousStdout+"="+o.previous.stdout)
		}
		if o.previous.stderr != "" {
			cmd.Env = append(cmd.Env, envPreviousStderr+"="+o.previous.stderr)
		}
	}
	if o.stdin != "" {
		cmd.Stdin = strings.NewReader(o.stdin)
	}
	c := newCapture(o)
	cmd.Stdout = captureStream{c, 0}
	cmd.Stderr = captureStream{c, 1}

	err := cmd.Run()
	c.flush()
	if err != nil {
		if ctx.Err() != nil {
			return nil, c.failed(o, fmt.Errorf("cancelled (%v)", err))
		}
		return nil, c.failed(o, err)
	}
	return c.result(), nil
}
