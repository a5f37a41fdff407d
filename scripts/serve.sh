#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running server: installs dependencies
# (and swaks with its TLS module, for README.md's "Try it"), builds, and starts rampart on
# its embedded default configuration (all-in-one role, SMTP on 127.0.0.1:2525, data in
# ./var, mail for example.test in var/mail/example.test/).
# Extra arguments go to `rampart serve` (for example: -c my.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh serve
scripts/build.sh rampart
if [ "$(id -u)" -eq 0 ] && [ $# -eq 0 ]; then
  # As root, `rampart serve` would become the `rampart` user ([server] user), which may
  # not exist or be able to enter this checkout: this demo stays root, said in its config
  # (written beside the checkout's files, so relative paths resolve as before).
  build/rampart default-config | sed 's/^\[server\]$/[server]\nrun_as_root = true   # scripts\/serve.sh run as root/' >.serve-as-root.toml
  exec build/rampart serve -c .serve-as-root.toml
fi
exec build/rampart serve "$@"
