#!/bin/bash
# Real mail servers on 127.0.0.1 for the end-to-end tests: Postfix (SMTP, submission) and
# Dovecot (IMAP, LMTP delivery into a Maildir, Sieve vacation). Run as root; no systemd and
# no edits under /etc: configs, queue, sockets, logs and the mailbox live under $ROOT.
#
#   mailstack.sh install   apt-get the packages that are missing
#   mailstack.sh start     (install if needed,) configure, start; idempotent
#   mailstack.sh env       export lines for the tests: eval "$(tests/servers/mailstack.sh env)"
#   mailstack.sh stop | status
#
# Ports (127.0.0.1; override with the variables in brackets):
#   2525 SMTP, no auth, STARTTLS offered, accepts the test domains only   [MAILSTACK_SMTP_PORT]
#   1587 submission: STARTTLS required, AUTH PLAIN/LOGIN                   [MAILSTACK_SUBMISSION_PORT]
#   1465 submission over implicit TLS, AUTH                                [MAILSTACK_SMTPS_PORT]
#   1143 IMAP (plain login allowed on loopback, STARTTLS offered)          [MAILSTACK_IMAP_PORT]
#   1993 IMAPS                                                             [MAILSTACK_IMAPS_PORT]
#   2526 a second smtpd standing for bounce.test's MX, refusing everyone   [MAILSTACK_BOUNCER_PORT]
# Domains:
#   example.org example.com europarl.test  every address is delivered (LMTP) to one Maildir,
#                                          the IMAP INBOX of $MAILSTACK_USER
#   bounce.test    accepted, then refused by its "MX" with 550 5.1.1: Postfix sends a real
#                  RFC 3464 delivery status notification to the envelope sender
#   reject.test    550 5.1.1 at RCPT        defer.test  450 4.2.2 at RCPT
#   vacation.test  delivered through LMTP, where a Sieve `vacation` rule answers (RFC 3834)
# Reports and auto-replies come back only when the envelope sender is at a delivering domain
# (e.g. bounces@example.org). Anything else is refused: nothing ever leaves the machine.
# The TLS certificate is self-signed: $ROOT/tls/cert.pem.
set -euo pipefail

ROOT=${OUTREACH_MAILSTACK_ROOT:-${TMPDIR:-/tmp}/outreach-mailstack}
SMTP_PORT=${MAILSTACK_SMTP_PORT:-2525}
BOUNCER_PORT=${MAILSTACK_BOUNCER_PORT:-2526}
SUBMISSION_PORT=${MAILSTACK_SUBMISSION_PORT:-1587}
SMTPS_PORT=${MAILSTACK_SMTPS_PORT:-1465}
IMAP_PORT=${MAILSTACK_IMAP_PORT:-1143}
IMAPS_PORT=${MAILSTACK_IMAPS_PORT:-1993}
USER_NAME=${MAILSTACK_USER:-testuser}
PASSWORD=${MAILSTACK_PASSWORD:-testpass}
DELIVER_DOMAINS="example.org example.com europarl.test"
PACKAGES="postfix dovecot-imapd dovecot-lmtpd dovecot-sieve openssl"
MAIL_UID=65534 # nobody:nogroup own the mailbox
MAIL_GID=65534

PF=$ROOT/postfix      # Postfix config directory (postfix -c)
QUEUE=$ROOT/queue
DC=$ROOT/dovecot/dovecot.conf
RUN=$ROOT/dovecot/run # Dovecot base_dir: master.pid, the lmtp socket
HOME_DIR=$ROOT/vmail/$USER_NAME
LOGS=$ROOT/log

say() { echo "mailstack: $*" >&2; }

install() {
  local missing=() pkg
  for pkg in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

write_postfix() {
  mkdir -p "$PF" "$QUEUE" "$ROOT/postfix-data"
  chown postfix: "$ROOT/postfix-data"
  local domains="${DELIVER_DOMAINS// /, }, vacation.test, bounce.test"
  cat >"$PF/main.cf" <<EOF
# written by tests/servers/mailstack.sh: loopback test server, never relays off the box
compatibility_level = 3.6
queue_directory = $QUEUE
data_directory = $ROOT/postfix-data
meta_directory = /etc/postfix
maillog_file_prefixes = $LOGS
maillog_file = $LOGS/postfix.log
myhostname = mail.example.org
mydomain = example.org
myorigin = example.org
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
smtpd_banner = \$myhostname ESMTP outreach test mailstack
biff = no
# every address at the test domains exists and goes to Dovecot over LMTP
virtual_mailbox_domains = $domains
virtual_mailbox_maps = static:exists
virtual_transport = lmtp:unix:$RUN/lmtp
transport_maps = texthash:$PF/transport
default_transport = error:5.7.1 the test mailstack never relays off the box
relay_transport = \$default_transport
smtpd_relay_restrictions = check_recipient_access texthash:$PF/recipient_access, permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access texthash:$PF/recipient_access
message_size_limit = 52428800
# no penalties for the refusals the tests provoke, no throttling of fast senders
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
in_flow_delay = 0
default_process_limit = 100
smtpd_tls_cert_file = $ROOT/tls/cert.pem
smtpd_tls_key_file = $ROOT/tls/key.pem
smtpd_tls_security_level = may
smtpd_tls_received_header = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $QUEUE/private/auth
smtpd_sasl_auth_enable = no
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 30s
EOF
  printf 'bounce.test smtp:[127.0.0.1]:%s\n' "$BOUNCER_PORT" >"$PF/transport"
  printf '%s\n' \
    'reject.test 550 5.1.1 user unknown (test reject)' \
    'defer.test 450 4.2.2 mailbox full, try again later (test defer)' >"$PF/recipient_access"
  printf 'bounce.test 550 5.1.1 The email account that you tried to reach does not exist (test bounce)\n' \
    >"$PF/bouncer_access"
  local auth="-o smtpd_sasl_auth_enable=yes -o smtpd_relay_restrictions=permit_sasl_authenticated,reject"
  cat >"$PF/master.cf" <<EOF
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
127.0.0.1:$BOUNCER_PORT inet n - n - - smtpd -o myhostname=mx.bounce.test -o smtpd_relay_restrictions=check_recipient_access,texthash:$PF/bouncer_access,reject -o smtpd_recipient_restrictions=
127.0.0.1:$SUBMISSION_PORT inet n - n - - smtpd -o smtpd_tls_security_level=encrypt $auth
127.0.0.1:$SMTPS_PORT inet n - n - - smtpd -o smtpd_tls_wrappermode=yes $auth
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
EOF
  # Postfix starts silently failing unless its private socket folder belongs to it
  mkdir -p "$QUEUE/private"
  chown postfix "$QUEUE/private"
  chmod 700 "$QUEUE/private"
}

write_dovecot() {
  mkdir -p "$ROOT/dovecot/state" "$RUN" "$ROOT/sieve" "$HOME_DIR/Maildir"/{cur,new,tmp}
  chown -R "$MAIL_UID:$MAIL_GID" "$ROOT/vmail" "$ROOT/sieve"
  printf '%s:{PLAIN}%s\n' "$USER_NAME" "$PASSWORD" >"$ROOT/dovecot/users"
  chmod 640 "$ROOT/dovecot/users"
  chgrp dovecot "$ROOT/dovecot/users"
  cat >"$ROOT/sieve/vacation.sieve" <<'EOF'
require ["vacation", "vacation-seconds", "envelope"];
if envelope :domain "to" "vacation.test" {
  vacation :seconds 0 :subject "Out of office"
    "I am away until further notice and will read your message when I return.";
}
EOF
  cat >"$DC" <<EOF
# written by tests/servers/mailstack.sh
protocols = imap lmtp
listen = 127.0.0.1
base_dir = $RUN
state_dir = $ROOT/dovecot/state
log_path = $LOGS/dovecot.log
info_log_path = $LOGS/dovecot.log
hostname = mail.example.org
postmaster_address = postmaster@example.org
ssl = yes
ssl_cert = <$ROOT/tls/cert.pem
ssl_key = <$ROOT/tls/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
# refusals are immediate: tests provoke them on purpose
auth_failure_delay = 0
mail_location = maildir:~/Maildir
mail_max_userip_connections = 200
first_valid_uid = 1
mail_uid = $MAIL_UID
mail_gid = $MAIL_GID
# vacation replies leave through the plain SMTP port
submission_host = 127.0.0.1:$SMTP_PORT
passdb {
  driver = passwd-file
  args = scheme=PLAIN $ROOT/dovecot/users
}
# every recipient (LMTP) and the IMAP user share one home, so one INBOX
userdb {
  driver = static
  args = uid=$MAIL_UID gid=$MAIL_GID home=$HOME_DIR allow_all_users=yes
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
service auth {
  unix_listener $QUEUE/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
protocol lmtp {
  mail_plugins = sieve
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_before = $ROOT/sieve/vacation.sieve
  sieve_extensions = +vacation-seconds
  sieve_vacation_min_period = 0
}
EOF
}

configure() {
  mkdir -p "$ROOT" "$LOGS" "$ROOT/tls" "$ROOT/dovecot"
  chmod 755 "$ROOT"
  if [ ! -s "$ROOT/tls/cert.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
      -addext "subjectAltName=DNS:localhost,DNS:mail.example.org,IP:127.0.0.1" \
      -keyout "$ROOT/tls/key.pem" -out "$ROOT/tls/cert.pem" 2>/dev/null
    chmod 600 "$ROOT/tls/key.pem"
  fi
  write_postfix
  write_dovecot
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_ports() {
  local port
  for port in "$@"; do
    for _ in $(seq 100); do port_open "$port" && continue 2; sleep 0.1; done
    say "port $port did not open; logs in $LOGS"
    tail -5 "$LOGS"/*.log >&2 || true
    return 1
  done
}

dovecot_running() { [ -f "$RUN/master.pid" ] && kill -0 "$(cat "$RUN/master.pid")" 2>/dev/null; }
postfix_running() { [ -f "$PF/main.cf" ] && postfix -c "$PF" status >/dev/null 2>&1; }

start() {
  if [ "$(id -u)" != 0 ]; then say "must run as root"; exit 1; fi
  if dovecot_running && postfix_running; then say "already running"; return 0; fi
  command -v postfix >/dev/null && command -v dovecot >/dev/null && [ -x /usr/lib/dovecot/lmtp ] \
    && command -v sievec >/dev/null || install
  stop >/dev/null 2>&1 || true
  local port
  for port in "$SMTP_PORT" "$BOUNCER_PORT" "$SUBMISSION_PORT" "$SMTPS_PORT" "$IMAP_PORT" "$IMAPS_PORT"; do
    if port_open "$port"; then
      say "127.0.0.1:$port is already taken (another mailstack?); stop it or set MAILSTACK_*_PORT"
      exit 1
    fi
  done
  configure
  sievec -c "$DC" "$ROOT/sieve/vacation.sieve"
  chown "$MAIL_UID:$MAIL_GID" "$ROOT/sieve"/*
  # the daemons must not hold the caller's stdout/stderr open (`$(mailstack.sh start)` would hang)
  dovecot -c "$DC" </dev/null >>"$LOGS/dovecot.log" 2>&1 # daemonises; pid in $RUN/master.pid
  if ! postfix -c "$PF" start </dev/null >>"$LOGS/postfix.log" 2>&1; then
    say "postfix did not start:"
    tail -20 "$LOGS/postfix.log" >&2
    exit 1
  fi
  wait_ports "$SMTP_PORT" "$BOUNCER_PORT" "$SUBMISSION_PORT" "$SMTPS_PORT" "$IMAP_PORT" "$IMAPS_PORT"
  say "up: smtp 127.0.0.1:$SMTP_PORT, submission $SUBMISSION_PORT/$SMTPS_PORT," \
    "imap $IMAP_PORT/$IMAPS_PORT, user $USER_NAME, under $ROOT"
}

stop() {
  if postfix_running; then postfix -c "$PF" stop >/dev/null 2>&1 || true; fi
  if dovecot_running; then kill "$(cat "$RUN/master.pid")" || true; fi
  for _ in $(seq 100); do
    dovecot_running || postfix_running || break
    sleep 0.1
  done
  say "stopped"
}

status() {
  local rc=0
  if postfix_running; then echo "postfix running"; else echo "postfix stopped"; rc=1; fi
  if dovecot_running; then echo "dovecot running"; else echo "dovecot stopped"; rc=1; fi
  return $rc
}

print_env() {
  cat <<EOF
export OUTREACH_TEST_MAILSTACK_ROOT=$ROOT
export OUTREACH_TEST_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT
export OUTREACH_TEST_SUBMISSION_URL=smtp+starttls://$USER_NAME@127.0.0.1:$SUBMISSION_PORT
export OUTREACH_TEST_SMTPS_URL=smtps://$USER_NAME@127.0.0.1:$SMTPS_PORT
export OUTREACH_TEST_IMAP_URL=imap://$USER_NAME@127.0.0.1:$IMAP_PORT/INBOX
export OUTREACH_TEST_IMAPS_URL=imaps://$USER_NAME@127.0.0.1:$IMAPS_PORT/INBOX
export OUTREACH_TEST_IMAP_USER=$USER_NAME
export OUTREACH_TEST_IMAP_PASSWORD=$PASSWORD
export OUTREACH_TEST_TLS_CERT=$ROOT/tls/cert.pem
EOF
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  env) print_env ;;
  *) echo "usage: $0 install|start|stop|restart|status|env" >&2; exit 2 ;;
esac
