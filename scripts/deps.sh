#!/usr/bin/env bash
# Installs the Debian 12 packages rampart needs: `deps.sh build`, `deps.sh test`, or
# `deps.sh serve` (build + what README.md's "Try it" uses: swaks, and Net::SSLeay for -tls).
# Runs apt-get only for what is missing (apt-get update first), so repeated runs are quick.
set -euo pipefail
build_pkgs="g++ cmake ninja-build ccache pkg-config python3 libasio-dev libssl-dev libtomlplusplus-dev libcli11-dev libfmt-dev libsodium-dev libcrypt-dev libldap2-dev libkrb5-dev zlib1g-dev nlohmann-json3-dev publicsuffix"   # publicsuffix: the Public Suffix List sender_auth loads at start
build_pkgs="$build_pkgs libsqlite3-dev"   # tracking: the message tracking store (data_dir/tracking.db)
test_pkgs="libgtest-dev python3 python3-pytest python3-aiosmtpd swaks libnet-ssleay-perl openssl clang libclang-rt-14-dev iproute2 nsd slapd ldap-utils krb5-kdc krb5-admin-server krb5-user python3-gssapi postfix dovecot-core dovecot-lmtpd dovecot-imapd clamav-daemon rspamd"
test_pkgs="$test_pkgs python3-dkim python3-nacl"   # senderauth: DKIM signer for test data (make_data.py) and the integration tests
test_pkgs="$test_pkgs opendkim opendkim-tools clamav-milter"   # milters: real milters behind the milter client
test_pkgs="$test_pkgs python3-prometheus-client"   # metrics: the integration tests parse /metrics with its parser
test_pkgs="$test_pkgs c-icap libc-icap-mod-virus-scan"   # antivirus: the ICAP engine's real peer (tests/integration/icap.py)
test_pkgs="$test_pkgs nftables"   # the perimeter topology test: the internal firewall (tests/integration/netns.py)
test_pkgs="$test_pkgs systemd man-db groff-base"   # systemd: systemd-analyze verify of dist/rampart.service; man-db, groff-base: the man pages are checked with groff
test_pkgs="$test_pkgs chromium chromium-driver"   # console: the web console is tested in a real headless Chromium (tests/integration/browser.py)
want="$build_pkgs"
[ "${1:-build}" = test ] && want="$build_pkgs $test_pkgs"
try_pkgs="swaks libnet-ssleay-perl"
[ "${1:-build}" = serve ] && want="$build_pkgs $try_pkgs"
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "installing:$missing"
  $SUDO apt-get update -qq
  # postfix (a test peer, run privately by the tests): no system configuration, no daemon.
  case " $missing " in *" postfix "*) echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections ;; esac
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
