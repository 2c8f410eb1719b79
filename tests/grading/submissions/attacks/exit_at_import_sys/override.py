# Attack: leave at import time, hoping that "exit status 0" counts as passed.
import sys

sys.exit(0)
