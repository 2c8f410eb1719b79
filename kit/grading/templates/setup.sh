#!/usr/bin/env bash
# Gradescope runs this once when the autograder image is built.
set -euo pipefail
apt-get update -qq
apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
# the venv lives outside /autograder/source, which run_autograder makes unreadable to student code
python3 -m venv /opt/kit-venv
/opt/kit-venv/bin/pip install --quiet --upgrade pip
/opt/kit-venv/bin/pip install --quiet -r /autograder/source/requirements.txt
