#!/usr/bin/env bash
# Installs the Debian programs that the speech domain synthesises its real data with:
# espeak-ng (the spoken-words dataset) and festival (the cross-synthesiser test).
# Only what is missing is installed; without apt (or root) it says so and carries on, and
# the tests that need the programs skip with that reason.
set -u
missing=()
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v text2wave >/dev/null 2>&1 || missing+=(festival)
# festival speaks with this English diphone voice (a recommendation, not a dependency)
[ -d /usr/share/festival/voices/english/kal_diphone ] || missing+=(festvox-kallpc16k)
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: apt-get not found; install ${missing[*]} yourself for the speech data (its tests will skip)" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else
    echo "system-deps: not root and no sudo; install ${missing[*]} yourself (speech tests will skip)" >&2
    exit 0
  fi
fi
echo "system-deps: installing ${missing[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || echo "system-deps: apt-get install ${missing[*]} failed; speech tests that need them will skip" >&2
exit 0
