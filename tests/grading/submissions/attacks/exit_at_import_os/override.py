# Attack: leave at import time without any cleanup.
import os

os._exit(0)
