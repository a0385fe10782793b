# The peer for the second step: privacyIDEA's /validate/check with a correct TOTP, sourced
# by bench/run (which defines OUT, PORT, CONNS, DUR, PAIRS, log, wrk_run, field, median).
#
# privacyIDEA and gunicorn are installed from PyPI into a throwaway virtualenv under
# bench/out (pip's cache makes later runs quick); gunicorn runs 2 workers on a SQLite
# database; 600 users (a flat-file resolver) each get a TOTP token, all imported through
# privacyIDEA's own library. Everything it writes, its log file included, stays in
# bench/out/peer.

PEER_VERSION=${BENCH_PEER_VERSION:-3.14}
PEER_DIR=$OUT/peer
PEER_PORT=$((PORT + 2))
PEER_USERS=600
PEER_SECRET_HEX=3132333435363738393031323334353637383930   # every token shares it: one code per 30 s serves them all
PEER_PID=
# Seconds per turn: privacyIDEA answers in seconds under 64 connections, so a turn of the
# second step's length may see none complete.
PEER_DUR=${BENCH_PEER_DURATION:-20}

# Run from its own directory, so that nothing privacyIDEA may write lands in the repository.
peer_py() { (cd "$PEER_DIR" && "$PEER_DIR/venv/bin/python" "$@"); }

peer_setup() {
  mkdir -p "$PEER_DIR"
  if [ -n "${BENCH_PEER_VENV:-}" ]; then
    # A virtualenv made earlier with the same two packages (pip takes minutes on a busy machine).
    log "privacyIDEA: using the virtualenv $BENCH_PEER_VENV"
    ln -s "$BENCH_PEER_VENV" "$PEER_DIR/venv"
  else
    log "privacyIDEA $PEER_VERSION: installing into a throwaway virtualenv (pip)"
    python3 -m venv "$PEER_DIR/venv" >"$OUT/peer-install.log" 2>&1 || return 1
    "$PEER_DIR/venv/bin/pip" install -q "privacyidea==$PEER_VERSION.*" gunicorn >>"$OUT/peer-install.log" 2>&1 || return 1
  fi
  local pepper secret
  pepper=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
  secret=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
  cat >"$PEER_DIR/pi.cfg" <<CFG
SQLALCHEMY_DATABASE_URI = 'sqlite:///$PEER_DIR/privacyidea.sqlite'
SECRET_KEY = '$secret'
PI_PEPPER = '$pepper'
PI_ENCFILE = '$PEER_DIR/enckey'
PI_AUDIT_KEY_PRIVATE = '$PEER_DIR/private.pem'
PI_AUDIT_KEY_PUBLIC = '$PEER_DIR/public.pem'
PI_AUDIT_SQL_TRUNCATE = True
PI_LOGFILE = '$PEER_DIR/privacyidea.log'
PI_LOGLEVEL = 30
CFG
  cat >"$PEER_DIR/pi_wsgi.py" <<WSGI
from privacyidea.app import create_app
application = create_app(config_name="production", config_file="$PEER_DIR/pi.cfg", silent=True)
WSGI
  export PRIVACYIDEA_CONFIGFILE=$PEER_DIR/pi.cfg
  (
    cd "$PEER_DIR" || exit 1
    venv/bin/pi-manage setup create_enckey &&
      venv/bin/pi-manage setup create_audit_keys &&
      venv/bin/pi-manage setup create_tables &&
      venv/bin/pi-manage admin add admin -p bench-admin-password
  ) >"$OUT/peer-setup.log" 2>&1 || return 1
  local i
  for i in $(seq 1 "$PEER_USERS"); do
    printf 'u%d:x:%d:%d:bench user %d,,,:/home/u%d:/bin/sh\n' "$i" $((10000 + i)) $((10000 + i)) "$i" "$i"
  done >"$PEER_DIR/users"
  log "privacyIDEA: a flat-file resolver of $PEER_USERS users, a realm, a TOTP token each (its own library)"
  PEER_USERS=$PEER_USERS PEER_SECRET_HEX=$PEER_SECRET_HEX PEER_DIR=$PEER_DIR \
    peer_py - >>"$OUT/peer-setup.log" 2>&1 <<'PY' || return 1
import os
from privacyidea.app import create_app

app = create_app(config_name="production", config_file=os.environ["PRIVACYIDEA_CONFIGFILE"], silent=True)
with app.app_context():
    from privacyidea.lib.realm import set_default_realm, set_realm
    from privacyidea.lib.resolver import save_resolver
    from privacyidea.lib.token import init_token
    from privacyidea.lib.user import User

    save_resolver({"resolver": "bench", "type": "passwdresolver", "fileName": os.environ["PEER_DIR"] + "/users"})
    set_realm("bench", [{"name": "bench"}])
    set_default_realm("bench")
    init_token({"type": "totp", "otpkey": os.environ["PEER_SECRET_HEX"], "genkey": 0,
                "serial": "TOTP00001", "pin": ""}, user=User("u1", "bench"))

# Enrolling a token hashes its PIN with argon2 (about a second each on a busy machine), so
# the other users get copies of the first token's rows, each its own serial and owner.
import sqlite3

db = sqlite3.connect(os.environ["PEER_DIR"] + "/privacyidea.sqlite")
def columns(table):
    return [r[1] for r in db.execute(f"PRAGMA table_info({table})")]
def copy(table, where, args, changes):
    cols = [c for c in columns(table) if c != "id"]
    for row in db.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE {where}", args).fetchall():
        values = [changes.get(c, v) for c, v in zip(cols, row)]
        db.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", values)
first = db.execute("SELECT id FROM token WHERE serial = 'TOTP00001'").fetchone()[0]
for i in range(2, int(os.environ["PEER_USERS"]) + 1):
    copy("token", "id = ?", (first,), {"serial": f"TOTP{i:05d}"})
    new = db.execute("SELECT id FROM token WHERE serial = ?", (f"TOTP{i:05d}",)).fetchone()[0]
    copy("tokeninfo", "token_id = ?", (first,), {"token_id": new})
    copy("tokenrealm", "token_id = ?", (first,), {"token_id": new})
    copy("tokenowner", "token_id = ?", (first,), {"token_id": new, "user_id": str(10000 + i)})
db.commit()
print("imported", db.execute("SELECT count(*) FROM token").fetchone()[0], "TOTP tokens")
PY
  log "privacyIDEA: gunicorn, 2 workers, on 127.0.0.1:$PEER_PORT"
  local extra=()
  # Newer gunicorn opens a control socket under ~/.gunicorn: not wanted here.
  if "$PEER_DIR/venv/bin/gunicorn" --help | grep -q -- --no-control-socket; then extra+=(--no-control-socket); fi
  (cd "$PEER_DIR" && exec venv/bin/gunicorn -w 2 -b "127.0.0.1:$PEER_PORT" --chdir "$PEER_DIR" "${extra[@]}" \
    --error-logfile "$PEER_DIR/gunicorn.log" pi_wsgi:application) >>"$OUT/peer-setup.log" 2>&1 &
  PEER_PID=$!
  PIDS+=("$PEER_PID")
  # Ready when both workers have loaded the application and answer a check (a wrong one).
  local answered=0
  for _ in $(seq 1 1200); do
    if curl -s -m 30 -o /dev/null -d 'user=u600&pass=000000' "http://127.0.0.1:$PEER_PORT/validate/check"; then
      answered=$((answered + 1))
      [ "$answered" -ge 4 ] && break
    else
      sleep 0.1
    fi
  done
  [ "$answered" -ge 4 ] || return 1
  PEER_URL=http://127.0.0.1:$PEER_PORT/validate/check
}

# peer_codes FIRST LAST FILE: one /validate/check body per user, with the code of now.
peer_codes() {
  PEER_SECRET_HEX=$PEER_SECRET_HEX peer_py - "$1" "$2" >"$3" <<'PY'
import hmac, os, struct, sys, time
key = bytes.fromhex(os.environ["PEER_SECRET_HEX"])
mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), "sha1").digest()
o = mac[-1] & 15
code = (struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 10**6
for i in range(int(sys.argv[1]), int(sys.argv[2]) + 1):
    print(f'-\t{{"user": "u{i}", "pass": "{code:06d}"}}')
PY
}

# peer_drain: returns once privacyIDEA has answered every request still queued. Its gunicorn
# workers are synchronous: the requests of a turn that wrk gave up on stay in the listen
# backlog and are still served one by one after the turn, so the next turn would only wait
# behind them (an earlier version measured 0/s that way). A check for a user that does not
# exist joins the back of that queue; its answer means the queue is empty.
peer_drain() {
  curl -s -m 600 -o /dev/null -d 'user=nobody&pass=000000' "$PEER_URL" || true
}

# peer_turns: PAIRS turns of PEER_DUR seconds, each on its own users (a code is accepted once per
# token), each after the queue of the one before has drained. privacyIDEA answers in seconds
# under this load, so a request counts as failed only after 60 s (WRK_TIMEOUT). privacyIDEA
# answers 200 to a wrong code too: only answers whose body says "value": true count
# (BENCH_EXPECT). Prints "RESULT ok_rps=… p50_ms=… p99_ms=… ok=… non2xx=…".
peer_turns() {
  local per=$((PEER_USERS / PAIRS)) i line oks=() p50s=() p99s=() ok=0 bad=0
  for i in $(seq 1 "$PAIRS"); do
    peer_drain
    peer_codes $(((i - 1) * per + 1)) $((i * per)) "$OUT/peer-check-$i.txt"
    line=$(BENCH_EXPECT='"value":%s*true' WRK_TIMEOUT=60 wrk_run "peer-check-$i" "$PEER_URL" "$OUT/peer-check-$i.txt" once POST "$CONNS" "$PEER_DUR")
    oks+=("$(field ok_rps "$line")"); p50s+=("$(field p50_ms "$line")"); p99s+=("$(field p99_ms "$line")")
    ok=$((ok + $(field ok "$line"))); bad=$((bad + $(field non2xx "$line")))
  done
  peer_drain
  echo "RESULT ok_rps=$(printf '%s\n' "${oks[@]}" | median) p50_ms=$(printf '%s\n' "${p50s[@]}" | median)" \
    "p99_ms=$(printf '%s\n' "${p99s[@]}" | median) ok=$ok non2xx=$bad"
}

peer_stop() {
  if [ -n "$PEER_PID" ]; then
    kill -TERM "$PEER_PID" 2>/dev/null || true
    wait "$PEER_PID" 2>/dev/null || true
  fi
}
