#!/usr/bin/env bash
# Installs the Debian programs the tests use: espeak-ng (the spoken-words dataset) and
# festival (the cross-synthesiser test), which the speech domain synthesises its real data
# with, and chromium, which loads a run's report.html headless and takes a screenshot.
# Only what is missing is installed. Without apt (or root), or when the install fails:
#   - locally it warns and carries on (exit 0), and the tests that need the programs skip;
#   - under CI=true it prints what failed (the apt command, or why it could not run) and
#     exits non-zero, since the speech tests there fail rather than skip without them.
set -u
missing=()
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v text2wave >/dev/null 2>&1 || missing+=(festival)
# festival speaks with this English diphone voice (a recommendation, not a dependency)
[ -d /usr/share/festival/voices/english/kal_diphone ] || missing+=(festvox-kallpc16k)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

ci=false
[ "${CI:-}" = "true" ] && ci=true

# give_up MESSAGE: under CI an error (exit 1), otherwise a warning (exit 0).
give_up() {
  if $ci; then
    echo "system-deps: ERROR (CI=true): $1" >&2
    exit 1
  fi
  echo "system-deps: $1; tests that need ${missing[*]} will skip" >&2
  exit 0
}

if ! command -v apt-get >/dev/null 2>&1; then
  give_up "apt-get not found; cannot run: apt-get install -y --no-install-recommends ${missing[*]}"
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo -n "; else
    give_up "not root and no sudo; cannot run: apt-get install -y --no-install-recommends ${missing[*]}"
  fi
fi
echo "system-deps: installing ${missing[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
update="${sudo}apt-get update -qq"
install="${sudo}apt-get install -y -qq --no-install-recommends ${missing[*]}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0; $update >"$log" 2>&1 || rc=$?
if [ $rc -ne 0 ]; then
  tail -n 20 "$log" >&2
  give_up "failed (exit $rc): $update"
fi
rc=0; $install >"$log" 2>&1 || rc=$?
if [ $rc -ne 0 ]; then
  tail -n 20 "$log" >&2
  give_up "failed (exit $rc): $install"
fi
# apt may succeed yet leave a program absent (a renamed package): check what we came for.
still=()
command -v espeak-ng >/dev/null 2>&1 || still+=(espeak-ng)
command -v text2wave >/dev/null 2>&1 || still+=(festival)
[ -d /usr/share/festival/voices/english/kal_diphone ] || still+=(festvox-kallpc16k)
command -v chromium >/dev/null 2>&1 || still+=(chromium)
if [ ${#still[@]} -gt 0 ]; then
  give_up "'$install' exited 0 but ${still[*]} still missing"
fi
exit 0
