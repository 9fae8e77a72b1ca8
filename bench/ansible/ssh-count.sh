#!/bin/sh
# ssh wrapper for Ansible (ssh_executable): logs one line per ssh process
# (= one SSH session; with ControlMaster most ride on a shared connection),
# then runs the real ssh. The log is $BENCH_SSH_LOG.
set -eu
if [ -n "${BENCH_SSH_LOG:-}" ]; then
    printf '%s\n' "$*" >>"$BENCH_SSH_LOG"
fi
exec ssh "$@"
