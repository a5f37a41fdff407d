#!/usr/bin/env bash
# Installs the Debian 12 packages rampart needs: `deps.sh build` or `deps.sh test`.
# Runs apt-get only for what is missing (apt-get update first), so repeated runs are quick.
set -euo pipefail
build_pkgs="g++ cmake ninja-build ccache pkg-config python3 libasio-dev libssl-dev libtomlplusplus-dev libcli11-dev libfmt-dev libsodium-dev libcrypt-dev libldap2-dev libkrb5-dev zlib1g-dev"
test_pkgs="libgtest-dev python3 python3-pytest python3-aiosmtpd swaks openssl clang libclang-rt-14-dev iproute2 nsd slapd ldap-utils krb5-kdc krb5-admin-server krb5-user python3-gssapi postfix dovecot-core dovecot-lmtpd dovecot-imapd clamav-daemon"
test_pkgs="$test_pkgs python3-dkim python3-nacl publicsuffix"   # senderauth: DKIM test data signer (make_data.py), the PSL
test_pkgs="$test_pkgs c-icap libc-icap-mod-virus-scan"   # antivirus: the ICAP engine's real peer (tests/integration/icap.py)
want="$build_pkgs"
[ "${1:-build}" = test ] && want="$build_pkgs $test_pkgs"
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
