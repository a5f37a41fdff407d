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
exec build/rampart serve "$@"
