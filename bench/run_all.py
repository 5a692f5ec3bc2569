"""Run every benchmark under bench/ (files not starting with "_"), one after another."""
import glob
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
status = 0
for path in sorted(glob.glob(os.path.join(here, "*.py"))):
    name = os.path.basename(path)
    if name.startswith("_") or name == "run_all.py":
        continue
    print(f"== {name}", flush=True)
    status |= subprocess.call([sys.executable, path], cwd=os.path.dirname(here))
sys.exit(status)
