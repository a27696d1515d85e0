#!/usr/bin/env bash
# System packages the project needs beyond Python: installed only when missing, so a
# machine that has them (like this project's CI machine) pays nothing.
set -euo pipefail

need=()
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
command -v pgbench >/dev/null 2>&1 || need+=(postgresql-contrib)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# The spoken test set and the spoken demo: speech synthesis and mixing noise in.
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v sox >/dev/null 2>&1 || need+=(sox)

if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}"
fi
