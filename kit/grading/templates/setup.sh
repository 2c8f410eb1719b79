#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu 22.04 by default).
# It makes /opt/kit-venv from requirements-grading.txt (no pytest, jax or keras-tuner: grading
# never imports them). The pins need Python >= 3.11 (numpy 2.4, pandas 3.1, scikit-learn 1.9;
# tensorflow 2.21 ships wheels for 3.11-3.13), while Ubuntu 22.04's python3 is 3.10. In this order:
#   1. an installed python3.11 / python3.12 / python3.13 / python3 of version 3.11-3.13;
#   2. the distribution's package: python3.11 (Ubuntu 22.04 universe, Debian 12), python3.12 (Ubuntu 24.04);
#   3. Ubuntu only: the deadsnakes PPA's python3.11 (Ubuntu 20.04 and 22.04).
# Any failure ends with one "setup.sh failed:" sentence and exit status 1, so the image build fails.
set -Eeuo pipefail
export DEBIAN_FRONTEND=noninteractive
SOURCE=/autograder/source
VENV=/opt/kit-venv # outside /autograder/source, which run_autograder makes unreadable to student code
REQUIREMENTS="$SOURCE/requirements-grading.txt"

fail() {
    echo "setup.sh failed: $*" >&2
    exit 1
}
trap 'fail "the command \`$BASH_COMMAND\` (line $LINENO) exited with status $?; see its output above."' ERR

supported() { # a Python the pinned wheels exist for
    "$1" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null
}

find_python() {
    local name path
    for name in python3.11 python3.12 python3.13 python3; do
        path=$(command -v "$name" 2>/dev/null) || continue
        if supported "$path"; then
            echo "$path"
            return 0
        fi
    done
    return 1
}

apt_install() { # quiet apt-get install; its own output only when it fails
    local log
    log=$(mktemp)
    if apt-get install -y --no-install-recommends "$@" >"$log" 2>&1; then
        rm -f "$log"
        return 0
    fi
    tail -n 5 "$log" >&2
    rm -f "$log"
    return 1
}

[ -r "$REQUIREMENTS" ] || fail "$REQUIREMENTS is missing; rebuild the zip with \`python -m kit grade --package autograder.zip\`."
command -v apt-get >/dev/null || fail "this image has no apt-get; choose an Ubuntu base image in Gradescope's autograder settings."
. /etc/os-release
echo "setup.sh: ${PRETTY_NAME:-unknown system}"

PYTHON=$(find_python) || {
    apt-get update -qq || fail "apt-get update failed; the image builder needs network access to the package mirrors."
    apt_install python3.11 python3.11-venv ca-certificates ||
        apt_install python3.12 python3.12-venv ca-certificates || true
    PYTHON=$(find_python) || {
        [ "${ID:-}" = ubuntu ] || fail "no Python 3.11-3.13 could be installed on ${PRETTY_NAME:-this system}; choose Gradescope's Ubuntu 22.04 base image."
        echo "setup.sh: no python3.11 in ${PRETTY_NAME}'s own packages; adding the deadsnakes PPA"
        apt_install software-properties-common gpg-agent || fail "could not install software-properties-common (for add-apt-repository)."
        add-apt-repository -y ppa:deadsnakes/ppa >/dev/null || fail "could not add the deadsnakes PPA (ppa:deadsnakes/ppa)."
        apt-get update -qq
        apt_install python3.11 python3.11-venv || fail "could not install python3.11 from the deadsnakes PPA on ${PRETTY_NAME}."
        PYTHON=$(find_python) || fail "python3.11 was installed but does not run."
    }
}
VERSION=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
echo "setup.sh: using $PYTHON (Python $VERSION)"

# Debian and Ubuntu keep venv's pip bootstrap (ensurepip) in a separate pythonX.Y-venv package
if ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
    { apt-get update -qq && apt_install "python$VERSION-venv"; } || fail "python$VERSION cannot make a virtual environment and python$VERSION-venv could not be installed."
fi
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV" || fail "\`$PYTHON -m venv $VENV\` failed."
# wheels only: building tensorflow or numpy from source here could only fail, later and less clearly
"$VENV/bin/python" -m pip install --no-cache-dir --quiet --only-binary=:all: -r "$REQUIREMENTS" ||
    fail "pip could not install $REQUIREMENTS into $VENV with Python $VERSION (are there wheels for it? see pip's message above)."
# the runtime must import (TensorFlow's start-up log lines go to stderr, shown only if it fails)
"$VENV/bin/python" - 2>/tmp/kit-setup-check.log <<'PYTHON' || { cat /tmp/kit-setup-check.log >&2; fail "the grading runtime in $VENV does not import; see the error above."; }
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import sys, keras, numpy, pandas, sklearn, yaml
sys.path.insert(0, "/autograder/source")
import kit.cli, kit.grading.grader, kit.grading.worker, kit.train, kit.models  # everything grading imports
print(f"setup.sh: ok: Python {sys.version.split()[0]}, keras {keras.__version__} ({keras.backend.backend()}), "
      f"numpy {numpy.__version__}, scikit-learn {sklearn.__version__}, pandas {pandas.__version__}")
PYTHON
rm -f /tmp/kit-setup-check.log
