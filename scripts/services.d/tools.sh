# shellcheck shell=bash
# scripts/services.d/tools.sh: `tools`, installed, nothing started: Debian's
# chromium (the HTML report and web UI tests drive it headless through
# playwright-core; no browser download) and xmllint (libxml2-utils: JUnit XML
# checked against its schema), and that schema: junit-10.xsd, the JUnit
# schema of Jenkins' xunit plugin (what Jenkins' junit step accepts), as
# pytest keeps a copy in its sdist (testing/example_scripts/junit-10.xsd).
# `pip download` fetches pytest's sdist (PyPI, version and sha256 pinned
# below) once into $CACHE/junit-schema/; the schema ends up at
# $CACHE/junit-schema/junit.xsd (test/integration/junit-schema.test.ts reads
# it there, or from $BENCHYARD_JUNIT_XSD). No `down tools`, no status line.

# The JUnit XML schema: the Jenkins xunit plugin's junit-10.xsd, taken from
# pytest's sdist (pytest validates its own --junitxml output against it; the
# wheel lacks the testing/ folder, hence --no-binary).
JUNIT_SCHEMA_DIR=$CACHE/junit-schema
JUNIT_XSD=$JUNIT_SCHEMA_DIR/junit.xsd
JUNIT_XSD_PYTEST_VERSION=9.2.0
JUNIT_XSD_SDIST=$JUNIT_SCHEMA_DIR/pytest-$JUNIT_XSD_PYTEST_VERSION.tar.gz
JUNIT_XSD_SDIST_SHA256=97c4f3b1f3c7414aa36465e09b8220f1d03627993bd51b1282e193753c80557b
JUNIT_XSD_MEMBER=pytest-$JUNIT_XSD_PYTEST_VERSION/testing/example_scripts/junit-10.xsd
JUNIT_XSD_SHA256=a1a816f58d1bf95ebabf371994df0b9246dee66ea9572fbec4f9296f1b2c0ff6

sha256_is() { [[ -s $1 ]] && [[ $(sha256sum "$1" | cut -d' ' -f1) == "$2" ]]; }

up_junit_xsd() {
  local t0=$EPOCHREALTIME python plog=$STATE/pip-junit-schema.log tmp
  sha256_is "$JUNIT_XSD" "$JUNIT_XSD_SHA256" && return 0
  mkdir -p "$JUNIT_SCHEMA_DIR" "$STATE"
  if ! sha256_is "$JUNIT_XSD_SDIST" "$JUNIT_XSD_SDIST_SHA256"; then
    if [[ -x /usr/bin/python3 ]]; then python=/usr/bin/python3; else python=$(command -v python3) || die "tools: no python3 (needed for pip download)"; fi
    if ! "$python" -m pip --version >/dev/null 2>&1; then
      apt_install "$STATE/apt-python3-pip.log" python3-pip ||
        die "tools: apt-get install python3-pip failed$(tail_of "$STATE/apt-python3-pip.log")"
    fi
    log "tools: fetching pytest==$JUNIT_XSD_PYTEST_VERSION sdist (PyPI) for the JUnit schema (log $plog) ..."
    tmp=$(mktemp -d "$JUNIT_SCHEMA_DIR/.pip.XXXXXX")
    if ! "$python" -m pip download --no-input --disable-pip-version-check --timeout 30 --retries 2 \
      --no-deps --no-binary :all: -d "$tmp" "pytest==$JUNIT_XSD_PYTEST_VERSION" >"$plog" 2>&1; then
      rm -rf "$tmp"
      die "tools: pip download pytest==$JUNIT_XSD_PYTEST_VERSION failed: is PyPI reachable from here? (offline: put its sdist at $JUNIT_XSD_SDIST, or the schema at $JUNIT_XSD)$(tail_of "$plog")"
    fi
    [[ -s $tmp/pytest-$JUNIT_XSD_PYTEST_VERSION.tar.gz ]] || {
      rm -rf "$tmp"
      die "tools: pip download produced no pytest-$JUNIT_XSD_PYTEST_VERSION.tar.gz$(tail_of "$plog")"
    }
    sha256_is "$tmp/pytest-$JUNIT_XSD_PYTEST_VERSION.tar.gz" "$JUNIT_XSD_SDIST_SHA256" || {
      rm -rf "$tmp"
      die "tools: pytest-$JUNIT_XSD_PYTEST_VERSION.tar.gz from PyPI does not have the pinned sha256 $JUNIT_XSD_SDIST_SHA256"
    }
    mv "$tmp/pytest-$JUNIT_XSD_PYTEST_VERSION.tar.gz" "$JUNIT_XSD_SDIST"
    rm -rf "$tmp"
  fi
  tmp=$(mktemp -d "$JUNIT_SCHEMA_DIR/.xsd.XXXXXX")
  tar --no-same-owner -xzf "$JUNIT_XSD_SDIST" -C "$tmp" "$JUNIT_XSD_MEMBER" || {
    rm -rf "$tmp"
    die "tools: $JUNIT_XSD_SDIST has no $JUNIT_XSD_MEMBER"
  }
  sha256_is "$tmp/$JUNIT_XSD_MEMBER" "$JUNIT_XSD_SHA256" || {
    rm -rf "$tmp"
    die "tools: $JUNIT_XSD_MEMBER in $JUNIT_XSD_SDIST does not have the pinned sha256 $JUNIT_XSD_SHA256"
  }
  chmod a+r "$tmp/$JUNIT_XSD_MEMBER"
  mv "$tmp/$JUNIT_XSD_MEMBER" "$JUNIT_XSD"
  rm -rf "$tmp"
  log "tools: JUnit schema at $JUNIT_XSD [$(since "$t0")]"
}

up_tools() {
  local t0=$EPOCHREALTIME missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
  if ((${#missing[@]} > 0)); then
    log "tools: installing ${missing[*]} (apt) ..."
    mkdir -p "$STATE"
    apt_install "$STATE/apt-tools.log" "${missing[@]}" ||
      die "tools: apt-get install ${missing[*]} failed$(tail_of "$STATE/apt-tools.log")"
    log "tools: ${missing[*]} installed [$(since "$t0")]"
  fi
  up_junit_xsd
}
